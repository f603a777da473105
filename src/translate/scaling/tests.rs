//! Every case from literal inputs, no network.

use super::*;

#[test]
fn a_policy_scales_the_service_it_names_in_its_namespace_only() {
    let service: crate::api::EcsService = serde_json::from_value(serde_json::json!({
        "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsService",
        "metadata": {"name": "web", "namespace": "a"},
        "spec": {"cluster": "prod", "serviceName": "web-svc", "taskDefinition": "app:1"}
    }))
    .expect("service");
    let policy = |namespace: &str, target: serde_json::Value| -> crate::api::EcsScalingPolicy {
        let mut spec = serde_json::json!({"minCapacity": 1, "maxCapacity": 2});
        for (k, v) in target.as_object().expect("object") {
            spec[k] = v.clone();
        }
        serde_json::from_value(serde_json::json!({
            "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsScalingPolicy",
            "metadata": {"name": "p", "namespace": namespace}, "spec": spec
        }))
        .expect("policy")
    };
    let by_ref = serde_json::json!({"serviceRef": {"name": "web"}});
    let by_id = serde_json::json!({"resourceId": "service/prod/web-svc"});
    assert!(scales(&policy("a", by_ref.clone()), &service));
    assert!(scales(&policy("a", by_id.clone()), &service));
    assert!(!scales(&policy("b", by_ref), &service), "another namespace");
    assert!(!scales(&policy("b", by_id), &service), "another namespace");
    assert!(!scales(
        &policy("a", serde_json::json!({"resourceId": "service/prod/web"})),
        &service
    ));
}

#[test]
fn schedules() {
    for ok in [
        "at(2026-12-24T18:00:00)",
        "rate(1 hour)",
        "rate(5 minutes)",
        "cron(0 8 ? * MON-FRI *)",
        "cron(15 10 L * ? 2027)",
    ] {
        assert_eq!(check_schedule(ok), Ok(()), "{ok}");
    }
    for bad in [
        "at(2026-13-01T00:00:00)",
        "rate(1 hours)",
        "rate(2 hour)",
        "cron(0 8 * * *)",
        "cron(0 8 1 * MON *)",
        "daily",
    ] {
        assert!(check_schedule(bad).is_err(), "{bad}");
    }
}

#[test]
fn resource_id_from_cluster_arn_uses_the_name() {
    assert_eq!(
        resource_id("arn:aws:ecs:us-east-1:1:cluster/prod", "web"),
        "service/prod/web"
    );
    assert_eq!(resource_id("prod", "web"), "service/prod/web");
}

#[test]
fn names_with_a_colon_or_slash_are_refused_as_the_schema_does() {
    let spec: EcsScalingPolicySpec = serde_json::from_value(serde_json::json!({
        "resourceId": "service/prod/web", "minCapacity": 1, "maxCapacity": 2,
        "targetTrackingPolicies": [{"policyName": "cpu:50", "targetValue": 50.0,
            "predefinedMetric": {"type": "ECSServiceAverageCPUUtilization"}}],
        "scheduledActions": [{"name": "night/weekday", "schedule": "cron(0 22 * * ? *)", "minCapacity": 1},
                             {"name": "morning", "schedule": "cron(0 6 * * ? *)", "minCapacity": 2}]
    }))
    .expect("spec");
    let paths: Vec<String> = validate(&spec).0.into_iter().map(|e| e.path).collect();
    assert_eq!(
        paths,
        [
            "spec.targetTrackingPolicies[0].policyName",
            "spec.scheduledActions[0].name"
        ]
    );
}
