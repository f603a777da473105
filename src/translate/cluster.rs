//! EcsCluster -> ECS `CreateCluster`, `UpdateCluster` and `PutClusterCapacityProviders`:
//! validation and the request types, in the ECS API's JSON shape.
//!
//! Settings, configuration and the Service Connect default go in one UpdateCluster (it takes
//! all three; UpdateClusterSettings would be a second call for the settings alone), capacity
//! providers and the default strategy in one PutClusterCapacityProviders, which replaces both
//! lists whole ("Any existing capacity providers that are associated with a cluster that are
//! omitted from a PutClusterCapacityProviders API call will be disassociated").

use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::{FieldErrors, duplicates, is_ecs_name, short_hash};
use crate::api::EcsClusterSpec;
use crate::api::cluster::{
    ClusterConfiguration, ClusterServiceConnectDefaults, ExecuteCommandLogging,
};
use crate::api::common::Tag;
use crate::api::service::CapacityProviderStrategyItem;

/// The name of the `containerInsights` cluster setting.
pub const CONTAINER_INSIGHTS: &str = "containerInsights";

/// One cluster setting as ECS takes it (`{"name": "containerInsights", "value": "enhanced"}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSettingRequest {
    /// The setting's name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// The ECS `CreateCluster` request.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateClusterRequest {
    /// Cluster name.
    pub cluster_name: String,
    /// The user's tags and the operator's ownership tags.
    pub tags: Option<Vec<Tag>>,
    /// Cluster settings.
    pub settings: Option<Vec<ClusterSettingRequest>>,
    /// Execute command and managed storage configuration.
    pub configuration: Option<ClusterConfiguration>,
    /// Capacity providers.
    pub capacity_providers: Option<Vec<String>>,
    /// Default capacity provider strategy.
    pub default_capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    /// Default Service Connect namespace.
    pub service_connect_defaults: Option<ClusterServiceConnectDefaults>,
}

/// The ECS `UpdateCluster` request: only the members to change.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateClusterRequest {
    /// Cluster name or ARN.
    pub cluster: String,
    /// New settings.
    pub settings: Option<Vec<ClusterSettingRequest>>,
    /// New configuration.
    pub configuration: Option<ClusterConfiguration>,
    /// New default Service Connect namespace.
    pub service_connect_defaults: Option<ClusterServiceConnectDefaults>,
}

impl UpdateClusterRequest {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.settings.is_none()
            && self.configuration.is_none()
            && self.service_connect_defaults.is_none()
    }
}

/// The ECS `PutClusterCapacityProviders` request (both lists whole; both required).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutClusterCapacityProvidersRequest {
    /// Cluster name or ARN.
    pub cluster: String,
    /// Every capacity provider the cluster keeps.
    pub capacity_providers: Vec<String>,
    /// The default strategy (`[]` for none).
    pub default_capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
}

/// The ECS cluster name: `spec.clusterName`, else the object's name.
pub fn cluster_name<'a>(object_name: &'a str, spec: &'a EcsClusterSpec) -> &'a str {
    spec.cluster_name.as_deref().unwrap_or(object_name)
}

/// The settings the spec sets, in the request shape (empty when it sets none).
pub fn settings(spec: &EcsClusterSpec) -> Vec<ClusterSettingRequest> {
    spec.settings
        .as_ref()
        .and_then(|s| s.container_insights)
        .map(|value| ClusterSettingRequest {
            name: CONTAINER_INSIGHTS.to_owned(),
            value: value.as_str().to_owned(),
        })
        .into_iter()
        .collect()
}

/// The CreateCluster request for `spec` with the operator's `owner_tags` added.
pub fn create_request(
    object_name: &str,
    spec: &EcsClusterSpec,
    owner_tags: &[Tag],
) -> CreateClusterRequest {
    let mut tags = spec.tags.clone().unwrap_or_default();
    tags.extend(owner_tags.iter().cloned());
    let settings = settings(spec);
    CreateClusterRequest {
        cluster_name: cluster_name(object_name, spec).to_owned(),
        tags: (!tags.is_empty()).then_some(tags),
        settings: (!settings.is_empty()).then_some(settings),
        configuration: spec.configuration.clone(),
        capacity_providers: spec.capacity_providers.clone(),
        default_capacity_provider_strategy: spec.default_capacity_provider_strategy.clone(),
        service_connect_defaults: spec.service_connect_defaults.clone(),
    }
}

/// The groups of members the operator tracks apart, each with the hash of its spec value:
/// `settings`, `configuration`, `serviceConnectDefaults` and `capacityProviders` (the providers
/// and the default strategy, which one call sets together). A group the spec leaves out has no
/// entry: the operator leaves it as it is in ECS.
pub fn group_hashes(spec: &EcsClusterSpec) -> std::collections::BTreeMap<String, String> {
    let hash = |value: serde_json::Value| short_hash(value.to_string().as_bytes(), 8);
    let mut groups = std::collections::BTreeMap::new();
    let settings = settings(spec);
    if !settings.is_empty() {
        groups.insert("settings".to_owned(), hash(serde_json::json!(settings)));
    }
    if let Some(configuration) = &spec.configuration {
        groups.insert(
            "configuration".to_owned(),
            hash(serde_json::json!(configuration)),
        );
    }
    if let Some(defaults) = &spec.service_connect_defaults {
        groups.insert(
            "serviceConnectDefaults".to_owned(),
            hash(serde_json::json!(defaults)),
        );
    }
    if spec.capacity_providers.is_some() {
        groups.insert(
            "capacityProviders".to_owned(),
            hash(serde_json::json!([
                spec.capacity_providers,
                spec.default_capacity_provider_strategy
            ])),
        );
    }
    groups
}

/// Checks the spec the way ECS will, with field paths.
pub fn validate(object_name: &str, spec: &EcsClusterSpec) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let name = cluster_name(object_name, spec);
    if !is_ecs_name(name) {
        errors.push(
            if spec.cluster_name.is_some() {
                "spec.clusterName"
            } else {
                "metadata.name"
            },
            format!(
                "{name:?} is not a valid cluster name: up to 255 letters, digits, hyphens and underscores"
            ),
        );
    }
    super::tags::validate(
        spec.tags.as_deref().unwrap_or_default(),
        "spec.tags",
        &mut errors,
    );
    let providers = spec.capacity_providers.as_deref().unwrap_or_default();
    for (i, provider) in duplicates(providers.iter().map(String::as_str)) {
        errors.push(
            format!("spec.capacityProviders[{i}]"),
            format!("capacity provider {provider:?} is listed twice"),
        );
    }
    let strategy = spec
        .default_capacity_provider_strategy
        .as_deref()
        .unwrap_or_default();
    super::validate_strategy(
        strategy,
        "spec.defaultCapacityProviderStrategy",
        &mut errors,
    );
    if spec.default_capacity_provider_strategy.is_some() && spec.capacity_providers.is_none() {
        // PutClusterCapacityProviders sets both lists whole: without the providers it would
        // disassociate every one of them.
        errors.push(
            "spec.capacityProviders",
            "a defaultCapacityProviderStrategy needs capacityProviders (PutClusterCapacityProviders sets both); list the cluster's providers",
        );
    }
    for (i, item) in strategy.iter().enumerate() {
        if !providers.contains(&item.capacity_provider) {
            errors.push(
                format!("spec.defaultCapacityProviderStrategy[{i}].capacityProvider"),
                format!(
                    "{:?} is not among spec.capacityProviders: a default strategy may name only the cluster's capacity providers; add it there",
                    item.capacity_provider
                ),
            );
        }
    }
    if let Some(exec) = spec
        .configuration
        .as_ref()
        .and_then(|c| c.execute_command_configuration.as_ref())
    {
        let path = "spec.configuration.executeCommandConfiguration";
        match (exec.logging, &exec.log_configuration) {
            (Some(ExecuteCommandLogging::Override), None) => errors.push(
                format!("{path}.logConfiguration"),
                "logging OVERRIDE needs a logConfiguration (a CloudWatch log group or an S3 bucket)",
            ),
            (Some(ExecuteCommandLogging::None | ExecuteCommandLogging::Default) | None, Some(_)) => {
                errors.push(
                    format!("{path}.logConfiguration"),
                    "logConfiguration applies only with logging OVERRIDE; set logging: OVERRIDE or remove it",
                )
            }
            _ => {}
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::cluster::{ClusterSettings, ContainerInsights, ExecuteCommandConfiguration};

    fn strategy(provider: &str, weight: i32, base: Option<i32>) -> CapacityProviderStrategyItem {
        CapacityProviderStrategyItem {
            capacity_provider: provider.to_owned(),
            weight: Some(weight),
            base,
        }
    }

    fn fargate_cluster() -> EcsClusterSpec {
        EcsClusterSpec {
            settings: Some(ClusterSettings {
                container_insights: Some(ContainerInsights::Enhanced),
            }),
            capacity_providers: Some(vec!["FARGATE".into(), "FARGATE_SPOT".into()]),
            default_capacity_provider_strategy: Some(vec![
                strategy("FARGATE", 1, Some(2)),
                strategy("FARGATE_SPOT", 4, None),
            ]),
            ..Default::default()
        }
    }

    #[test]
    fn the_guide_cluster_is_valid_and_creates_in_one_call() {
        let spec = fargate_cluster();
        assert_eq!(validate("prod", &spec).0, vec![]);
        let request = create_request("prod", &spec, &[]);
        let wire = serde_json::to_value(&request).expect("json");
        assert_eq!(
            wire,
            serde_json::json!({
                "clusterName": "prod",
                "settings": [{"name": "containerInsights", "value": "enhanced"}],
                "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
                "defaultCapacityProviderStrategy": [
                    {"capacityProvider": "FARGATE", "weight": 1, "base": 2},
                    {"capacityProvider": "FARGATE_SPOT", "weight": 4}
                ]
            })
        );
    }

    #[test]
    fn a_strategy_outside_the_providers_is_refused_with_its_path() {
        let mut spec = fargate_cluster();
        spec.capacity_providers = Some(vec!["FARGATE".into()]);
        let errors = validate("prod", &spec).0;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            errors[0].path,
            "spec.defaultCapacityProviderStrategy[1].capacityProvider"
        );
    }

    #[test]
    fn strategy_rules_and_names_are_checked() {
        let spec = EcsClusterSpec {
            cluster_name: Some("bad name".into()),
            capacity_providers: Some(vec!["A".into(), "A".into()]),
            default_capacity_provider_strategy: Some(vec![
                strategy("A", 0, Some(1)),
                strategy("A", 0, Some(1)),
            ]),
            ..Default::default()
        };
        let paths: Vec<String> = validate("x", &spec).0.into_iter().map(|e| e.path).collect();
        for expected in [
            "spec.clusterName",
            "spec.capacityProviders[1]",
            "spec.defaultCapacityProviderStrategy[1].capacityProvider",
            "spec.defaultCapacityProviderStrategy[1].base",
            "spec.defaultCapacityProviderStrategy",
        ] {
            assert!(paths.iter().any(|p| p == expected), "{expected}: {paths:?}");
        }
    }

    #[test]
    fn a_strategy_without_the_providers_is_refused_rather_than_emptying_them() {
        let spec = EcsClusterSpec {
            default_capacity_provider_strategy: Some(vec![]),
            ..Default::default()
        };
        let paths: Vec<String> = validate("c", &spec).0.into_iter().map(|e| e.path).collect();
        assert_eq!(paths, ["spec.capacityProviders"]);
        assert!(!group_hashes(&spec).contains_key("capacityProviders"));
    }

    #[test]
    fn execute_command_logging_and_its_destination_go_together() {
        let with = |logging, destination: bool| EcsClusterSpec {
            configuration: Some(ClusterConfiguration {
                execute_command_configuration: Some(ExecuteCommandConfiguration {
                    logging: Some(logging),
                    log_configuration: destination.then(Default::default),
                    ..Default::default()
                }),
                managed_storage_configuration: None,
            }),
            ..Default::default()
        };
        assert_eq!(
            validate("c", &with(ExecuteCommandLogging::Override, true)).0,
            vec![]
        );
        assert_eq!(
            validate("c", &with(ExecuteCommandLogging::Default, false)).0,
            vec![]
        );
        for spec in [
            with(ExecuteCommandLogging::Override, false),
            with(ExecuteCommandLogging::None, true),
        ] {
            let errors = validate("c", &spec).0;
            assert_eq!(
                errors.first().map(|e| e.path.as_str()),
                Some("spec.configuration.executeCommandConfiguration.logConfiguration")
            );
        }
    }

    #[test]
    fn only_groups_the_spec_sets_are_tracked_and_a_change_changes_the_hash() {
        assert!(group_hashes(&EcsClusterSpec::default()).is_empty());
        let spec = fargate_cluster();
        let groups = group_hashes(&spec);
        assert_eq!(
            groups.keys().collect::<Vec<_>>(),
            ["capacityProviders", "settings"]
        );
        let mut changed = spec.clone();
        changed.default_capacity_provider_strategy = Some(vec![strategy("FARGATE", 1, None)]);
        let after = group_hashes(&changed);
        assert_ne!(groups["capacityProviders"], after["capacityProviders"]);
        assert_eq!(groups["settings"], after["settings"]);
    }
}
