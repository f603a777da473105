//! The committed CRDs are what the code generates, and their CEL rules reject what they should.

use crate::common;

use ecs_operator::crdgen;
use kube::core::cel::Validator;
use serde_json::{Value, json};

use common::root;

#[test]
fn committed_crds_are_up_to_date() {
    for (file, crd) in crdgen::all() {
        let generated = crdgen::to_yaml(&crd).expect("yaml");
        let path = root().join("crds").join(file);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} is stale: run `cargo run -- crds --output-dir crds` and commit the result",
            path.display()
        );
    }
}

#[test]
fn crds_are_namespaced_with_names_columns_and_status() {
    for (_, crd) in crdgen::all() {
        let spec = &crd.spec;
        assert_eq!(spec.group, "ecs.operator.dev");
        assert_eq!(spec.scope, "Namespaced");
        assert_eq!(
            spec.names.categories.as_deref(),
            Some(&["ecs".to_owned()][..])
        );
        let version = &spec.versions[0];
        assert_eq!(version.name, "v1alpha1");
        assert!(
            version
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some()
        );
        let columns: Vec<&str> = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect();
        assert!(
            columns.contains(&"Ready") && columns.contains(&"Age"),
            "{columns:?}"
        );
    }
    let short: Vec<String> = crdgen::all()
        .into_iter()
        .flat_map(|(_, crd)| crd.spec.names.short_names.unwrap_or_default())
        .collect();
    assert_eq!(
        short,
        ["ecscl", "ecscp", "ecstd", "ecssvc", "ecssp", "ecstask"]
    );
}

/// The openAPIV3Schema of the CRD for `kind`, as the API server evaluates it.
fn schema_of(kind: &str) -> Value {
    let crd = crdgen::all()
        .into_iter()
        .map(|(_, crd)| crd)
        .find(|crd| crd.spec.names.kind == kind)
        .expect("kind");
    serde_json::to_value(
        crd.spec.versions[0]
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref()),
    )
    .expect("schema")
}

fn object(kind: &str, spec: Value) -> Value {
    json!({"apiVersion": "ecs.operator.dev/v1alpha1", "kind": kind, "metadata": {"name": "x"}, "spec": spec})
}

/// Messages of the CEL rules that reject `spec` (empty when it is admitted).
fn cel_failures(kind: &str, spec: Value, old_spec: Option<Value>) -> Vec<String> {
    let old = old_spec.map(|s| object(kind, s));
    match Validator::new().validate(&schema_of(kind), &object(kind, spec), old.as_ref()) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.to_string().lines().map(str::to_owned).collect(),
    }
}

fn service_spec() -> Value {
    json!({
        "cluster": "prod",
        "taskDefinition": "web:1",
        "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    })
}

#[test]
fn cel_admits_valid_objects() {
    assert!(cel_failures("EcsService", service_spec(), None).is_empty());
    assert!(cel_failures("EcsService", service_spec(), Some(service_spec())).is_empty());
    let policy = json!({"resourceId": "service/prod/web", "minCapacity": 2, "maxCapacity": 10});
    assert!(cel_failures("EcsScalingPolicy", policy, None).is_empty());
    let td = json!({"networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
                    "containerDefinitions": [{"name": "app", "image": "nginx"}]});
    assert!(cel_failures("EcsTaskDefinition", td, None).is_empty());
}

#[test]
fn cel_requires_exactly_one_task_definition_source() {
    let mut both = service_spec();
    both["taskDefinitionRef"] = json!({"name": "web"});
    let failures = cel_failures("EcsService", both, None);
    assert!(
        failures
            .iter()
            .any(|f| f.contains("exactly one of taskDefinitionRef")),
        "{failures:?}"
    );

    let mut neither = service_spec();
    neither
        .as_object_mut()
        .expect("object")
        .remove("taskDefinition");
    assert!(!cel_failures("EcsService", neither, None).is_empty());
}

#[test]
fn cel_forbids_launch_type_with_capacity_providers() {
    let mut spec = service_spec();
    spec["capacityProviderStrategy"] = json!([{"capacityProvider": "FARGATE", "weight": 1}]);
    let failures = cel_failures("EcsService", spec, None);
    assert!(
        failures.iter().any(|f| f.contains("mutually exclusive")),
        "{failures:?}"
    );
}

#[test]
fn cel_keeps_cluster_and_service_name_immutable() {
    let mut moved = service_spec();
    moved["cluster"] = json!("staging");
    let failures = cel_failures("EcsService", moved, Some(service_spec()));
    assert!(
        failures.iter().any(|f| f.contains("cluster is immutable")),
        "{failures:?}"
    );

    let mut renamed = service_spec();
    renamed["serviceName"] = json!("other");
    let failures = cel_failures("EcsService", renamed, Some(service_spec()));
    assert!(
        failures.iter().any(|f| f.contains("serviceName")),
        "{failures:?}"
    );
}

#[test]
fn cel_rejects_min_above_max_and_missing_target() {
    let failures = cel_failures(
        "EcsScalingPolicy",
        json!({"resourceId": "service/prod/web", "minCapacity": 5, "maxCapacity": 2}),
        None,
    );
    assert!(
        failures
            .iter()
            .any(|f| f.contains("minCapacity must not exceed maxCapacity")),
        "{failures:?}"
    );
    let failures = cel_failures(
        "EcsScalingPolicy",
        json!({"minCapacity": 1, "maxCapacity": 2}),
        None,
    );
    assert!(
        failures
            .iter()
            .any(|f| f.contains("exactly one of serviceRef")),
        "{failures:?}"
    );
}

#[test]
fn cel_requires_awsvpc_and_size_on_fargate() {
    let spec = json!({"networkMode": "bridge", "requiresCompatibilities": ["FARGATE"],
                      "containerDefinitions": [{"name": "app", "image": "nginx"}]});
    let failures = cel_failures("EcsTaskDefinition", spec, None);
    assert!(
        failures.iter().any(|f| f.contains("awsvpc")),
        "{failures:?}"
    );
    assert!(
        failures.iter().any(|f| f.contains("cpu and memory")),
        "{failures:?}"
    );
}

#[test]
fn user_tags_leave_room_for_the_operators_own() {
    // ECS allows 50 tags per resource; the operator adds up to 3 of its own.
    for kind in ["EcsTaskDefinition", "EcsService"] {
        let schema = schema_of(kind);
        assert_eq!(
            schema["properties"]["spec"]["properties"]["tags"]["maxItems"],
            json!(ecs_operator::translate::tags::MAX_USER_TAGS),
            "{kind}"
        );
    }
}

#[test]
fn every_status_has_observed_generation_and_conditions_at_its_top_level() {
    for (file, crd) in crdgen::all() {
        let schema = serde_json::to_value(&crd.spec.versions[0].schema).expect("schema");
        let status = &schema["openAPIV3Schema"]["properties"]["status"]["properties"];
        assert_eq!(status["observedGeneration"]["type"], "integer", "{file}");
        assert_eq!(status["conditions"]["type"], "array", "{file}");
        let condition = &status["conditions"]["items"]["properties"];
        for field in [
            "type",
            "status",
            "observedGeneration",
            "lastTransitionTime",
            "reason",
            "message",
        ] {
            assert!(condition.get(field).is_some(), "{file}: condition.{field}");
        }
    }
}

#[test]
fn cel_wants_a_revision_on_a_task_definition_arn_and_one_service_registry() {
    let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web";
    let mut spec = service_spec();
    spec["taskDefinition"] = json!(arn);
    let failures = cel_failures("EcsService", spec.clone(), None);
    assert!(
        failures
            .iter()
            .any(|f| f.contains("must end with :<revision>")),
        "{failures:?}"
    );
    for fine in [format!("{arn}:3"), "web".into(), "web:3".into()] {
        spec["taskDefinition"] = json!(fine);
        assert!(
            cel_failures("EcsService", spec.clone(), None).is_empty(),
            "{fine}"
        );
    }
    // The API server enforces maxItems (the CEL evaluator here does not read it).
    let schema = schema_of("EcsService");
    assert_eq!(
        schema["properties"]["spec"]["properties"]["serviceRegistries"]["maxItems"],
        json!(1)
    );
}

#[test]
fn cel_refuses_the_managed_instances_launch_type_on_services() {
    let mut spec = service_spec();
    spec["launchType"] = json!("MANAGED_INSTANCES");
    let failures = cel_failures("EcsService", spec, None);
    assert!(
        failures
            .iter()
            .any(|f| f.contains("capacityProviderStrategy")),
        "{failures:?}"
    );
}

#[test]
fn cel_takes_an_external_service_without_a_task_definition_and_refuses_one_with() {
    let external =
        json!({"cluster": "prod", "deploymentController": {"type": "EXTERNAL"}, "desiredCount": 2});
    assert!(cel_failures("EcsService", external.clone(), None).is_empty());
    for (member, value) in [
        ("taskDefinition", json!("web:1")),
        ("taskDefinitionRef", json!({"name": "web"})),
        ("launchType", json!("EC2")),
    ] {
        let mut spec = external.clone();
        spec[member] = value;
        let failures = cel_failures("EcsService", spec, None);
        assert!(
            failures.iter().any(|f| f.contains("from its task sets")),
            "{member}: {failures:?}"
        );
    }
}

/// [`cel_failures`] for an object named `name`.
fn cel_failures_named(kind: &str, name: &str, spec: Value) -> Vec<String> {
    let mut object = object(kind, spec);
    object["metadata"]["name"] = json!(name);
    match Validator::new().validate(&schema_of(kind), &object, None) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.to_string().lines().map(str::to_owned).collect(),
    }
}

#[test]
fn cel_refuses_capacity_provider_names_aws_reserves_whether_spec_or_metadata() {
    let group = json!({"autoScalingGroupProvider": {"autoScalingGroupArn": "g"}});
    assert!(cel_failures_named("EcsCapacityProvider", "pool", group.clone()).is_empty());
    let failures = cel_failures_named("EcsCapacityProvider", "ECS-pool", group.clone());
    assert!(
        failures.iter().any(|f| f.contains("set spec.name")),
        "{failures:?}"
    );
    let mut named = group.clone();
    named["name"] = json!("pool");
    assert!(cel_failures_named("EcsCapacityProvider", "fargate-pool", named.clone()).is_empty());
    named["name"] = json!("aws-pool");
    let failures = cel_failures_named("EcsCapacityProvider", "pool", named);
    assert!(
        failures.iter().any(|f| f.contains("reserved by AWS")),
        "{failures:?}"
    );
    let mut both = group;
    both["managedInstancesProvider"] = json!({"infrastructureRoleArn": "arn:aws:iam::1:role/r"});
    assert!(!cel_failures_named("EcsCapacityProvider", "pool", both).is_empty());
}

#[test]
fn cel_keeps_a_cluster_default_strategy_within_its_providers() {
    let fine = json!({"capacityProviders": ["FARGATE"],
                      "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]});
    assert!(cel_failures("EcsCluster", fine, None).is_empty());
    for bad in [
        json!({"defaultCapacityProviderStrategy": []}),
        json!({"capacityProviders": ["FARGATE"],
               "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]}),
    ] {
        let failures = cel_failures("EcsCluster", bad.clone(), None);
        assert!(
            failures
                .iter()
                .any(|f| f.contains("only the cluster's capacity providers")),
            "{bad}: {failures:?}"
        );
    }
}

#[test]
fn cel_wants_one_cluster_source_for_services_and_tasks() {
    let task = json!({"cluster": "prod", "taskDefinition": "job"});
    assert!(cel_failures("EcsTask", task.clone(), None).is_empty());
    let mut both = task.clone();
    both["clusterRef"] = json!({"name": "prod"});
    assert!(!cel_failures("EcsTask", both, None).is_empty());
    let neither = json!({"taskDefinition": "job"});
    assert!(!cel_failures("EcsTask", neither, None).is_empty());

    let mut by_ref = service_spec();
    by_ref.as_object_mut().expect("spec").remove("cluster");
    by_ref["clusterRef"] = json!({"name": "prod"});
    assert!(cel_failures("EcsService", by_ref.clone(), None).is_empty());
    let failures = cel_failures("EcsService", by_ref, Some(service_spec()));
    assert!(
        failures.iter().any(|f| f.contains("cannot be swapped")),
        "{failures:?}"
    );
}

/// The types of each served version live in the module named after it, and `api` re-exports the
/// version the controllers use (so a move to v1beta1 is a change of that one re-export).
#[test]
fn each_version_lives_in_its_own_module() {
    use ecs_operator::api::v1alpha1;
    use kube::Resource;
    fn same<T>(_: Option<T>, _: Option<T>) {}
    same::<v1alpha1::EcsService>(None, None::<ecs_operator::api::EcsService>);
    same::<v1alpha1::EcsTaskDefinition>(None, None::<ecs_operator::api::EcsTaskDefinition>);
    same::<v1alpha1::EcsScalingPolicy>(None, None::<ecs_operator::api::EcsScalingPolicy>);
    same::<v1alpha1::EcsCluster>(None, None::<ecs_operator::api::EcsCluster>);
    same::<v1alpha1::EcsCapacityProvider>(None, None::<ecs_operator::api::EcsCapacityProvider>);
    same::<v1alpha1::EcsTask>(None, None::<ecs_operator::api::EcsTask>);
    for version in [
        v1alpha1::EcsService::version(&()),
        v1alpha1::EcsTaskDefinition::version(&()),
        v1alpha1::EcsScalingPolicy::version(&()),
        v1alpha1::EcsCluster::version(&()),
        v1alpha1::EcsCapacityProvider::version(&()),
        v1alpha1::EcsTask::version(&()),
    ] {
        assert_eq!(version, "v1alpha1");
    }
    for (_, crd) in crdgen::all() {
        let versions: Vec<(&str, bool, bool)> = crd
            .spec
            .versions
            .iter()
            .map(|v| (v.name.as_str(), v.served, v.storage))
            .collect();
        assert_eq!(
            versions,
            [("v1alpha1", true, true)],
            "{}",
            crd.spec.names.kind
        );
    }
}
