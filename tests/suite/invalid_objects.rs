//! Invalid objects fail validation with the right field path, one per rule, and never panic; the
//! `render` command reports them on stderr and exits 1.

use crate::common;

use std::process::Command;

use ecs_operator::render;
use serde_json::{Value, json};

use common::{root, temp_yaml};

fn fargate_td(containers: Value) -> Value {
    json!({"family": "app", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
           "cpu": "256", "memory": "512", "containerDefinitions": containers})
}

fn service(extra: Value) -> Value {
    let mut spec = json!({"cluster": "prod", "taskDefinition": "web:1", "launchType": "FARGATE",
                          "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}});
    for (k, v) in extra.as_object().expect("object") {
        if v.is_null() {
            spec.as_object_mut().expect("object").remove(k);
        } else {
            spec[k] = v.clone();
        }
    }
    spec
}

fn policy(extra: Value) -> Value {
    let mut spec = json!({"resourceId": "service/prod/web", "minCapacity": 2, "maxCapacity": 10});
    for (k, v) in extra.as_object().expect("object") {
        spec[k] = v.clone();
    }
    spec
}

/// (kind, spec, the field path the error must name, a word the message must contain)
fn cases() -> Vec<(&'static str, Value, &'static str, &'static str)> {
    let app = |extra: Value| {
        let mut c = json!({"name": "app", "image": "nginx"});
        for (k, v) in extra.as_object().expect("object") {
            c[k] = v.clone();
        }
        c
    };
    vec![
        (
            "EcsTaskDefinition",
            json!({"networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "4096",
            "containerDefinitions": [app(json!({}))]}),
            "spec.memory",
            "not valid with cpu 256",
        ),
        (
            "EcsTaskDefinition",
            json!({"networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "300", "memory": "512",
            "containerDefinitions": [app(json!({}))]}),
            "spec.cpu",
            "not a Fargate size",
        ),
        (
            "EcsTaskDefinition",
            fargate_td(json!([])),
            "spec.containerDefinitions",
            "at least one container",
        ),
        (
            "EcsTaskDefinition",
            fargate_td(json!([app(json!({})), app(json!({}))])),
            "spec.containerDefinitions[1].name",
            "duplicate container name",
        ),
        (
            "EcsTaskDefinition",
            fargate_td(json!([app(json!({"essential": false}))])),
            "spec.containerDefinitions",
            "essential",
        ),
        (
            "EcsTaskDefinition",
            fargate_td(json!([app(
                json!({"dependsOn": [{"containerName": "db", "condition": "START"}]})
            )])),
            "spec.containerDefinitions[0].dependsOn[0].containerName",
            "no container named \"db\"",
        ),
        (
            "EcsTaskDefinition",
            fargate_td(json!([app(
                json!({"portMappings": [{"containerPort": 80, "hostPort": 8080}]})
            )])),
            "spec.containerDefinitions[0].portMappings[0].hostPort",
            "must equal containerPort",
        ),
        (
            "EcsTaskDefinition",
            fargate_td(json!([app(
                json!({"environment": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]})
            )])),
            "spec.containerDefinitions[0].environment[1].name",
            "duplicate environment variable",
        ),
        (
            "EcsTaskDefinition",
            fargate_td(json!([app(
                json!({"secrets": [{"name": "S", "valueFrom": "arn:aws:s3:::bucket/key"}]})
            )])),
            "spec.containerDefinitions[0].secrets[0].valueFrom",
            "neither a Secrets Manager",
        ),
        (
            "EcsTaskDefinition",
            json!({"networkMode": "bridge", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
            "containerDefinitions": [app(json!({}))]}),
            "spec.networkMode",
            "awsvpc",
        ),
        (
            "EcsTaskDefinition",
            fargate_td(json!([app(
                json!({"mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}]})
            )])),
            "spec.containerDefinitions[0].mountPoints[0].sourceVolume",
            "no volume named",
        ),
        (
            "EcsTaskDefinition",
            fargate_td(json!([app(
                json!({"portMappings": [{"containerPort": 80, "protocol": "sctp"}]})
            )])),
            "spec.containerDefinitions[0].portMappings[0].protocol",
            "unknown variant",
        ),
        (
            "EcsTaskDefinition",
            fargate_td(json!([app(json!({"imag": "typo"}))])),
            "spec.containerDefinitions[0].imag",
            "unknown field",
        ),
        (
            "EcsService",
            service(json!({"taskDefinitionRef": {"name": "web"}})),
            "spec.taskDefinition",
            "exactly one",
        ),
        (
            "EcsService",
            service(
                json!({"capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]}),
            ),
            "spec.capacityProviderStrategy",
            "mutually exclusive",
        ),
        (
            "EcsService",
            service(json!({"networkConfiguration": null})),
            "spec.networkConfiguration.awsvpcConfiguration",
            "subnets",
        ),
        (
            "EcsService",
            service(json!({"launchType": null, "capacityProviderStrategy": [
            {"capacityProvider": "FARGATE", "weight": 1, "base": 2}, {"capacityProvider": "FARGATE_SPOT", "weight": 4, "base": 1}]})),
            "spec.capacityProviderStrategy[1].base",
            "only one capacity provider",
        ),
        (
            "EcsService",
            service(
                json!({"loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1", "containerPort": 80}]}),
            ),
            "spec.loadBalancers[0].containerName",
            "container",
        ),
        (
            "EcsService",
            service(json!({"taskDefinition": "web:latest"})),
            "spec.taskDefinition",
            "family:revision",
        ),
        (
            "EcsService",
            service(
                json!({"taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web"}),
            ),
            "spec.taskDefinition",
            "must end with :<revision>",
        ),
        (
            "EcsService",
            service(json!({"serviceRegistries": [
                {"registryArn": "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-1"},
                {"registryArn": "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-2"}]})),
            "spec.serviceRegistries",
            "one service registry",
        ),
        (
            "EcsService",
            service(json!({
                "deploymentConfiguration": {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5},
                "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1",
                                   "containerName": "app", "containerPort": 80}]})),
            "spec.loadBalancers[0].advancedConfiguration.alternateTargetGroupArn",
            "needs alternateTargetGroupArn",
        ),
        (
            "EcsService",
            service(json!({
                "deploymentConfiguration": {"strategy": "LINEAR"},
                "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1",
                                   "containerName": "app", "containerPort": 80,
                                   "advancedConfiguration": {
                                       "alternateTargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/2",
                                       "productionListenerRule": "arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/app/a/1/2/3"}}]})),
            "spec.loadBalancers[0].advancedConfiguration.roleArn",
            "needs roleArn",
        ),
        (
            "EcsService",
            service(json!({
                "deploymentConfiguration": {"strategy": "CANARY"},
                "loadBalancers": [{"loadBalancerName": "classic", "containerName": "app", "containerPort": 80}]})),
            "spec.loadBalancers[0].targetGroupArn",
            "Classic Load Balancer",
        ),
        (
            "EcsService",
            service(json!({
                "deploymentConfiguration": {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5,
                    "earlySuccessCriteria": {"enable": true, "healthyPercent": 50, "sourceServiceRevisionCleanup": "BLOCKING"}}})),
            "spec.deploymentConfiguration.earlySuccessCriteria",
            "only with the ROLLING strategy",
        ),
        (
            "EcsService",
            service(json!({
                "deploymentConfiguration": {"minimumHealthyPercent": 75,
                    "earlySuccessCriteria": {"enable": true, "healthyPercent": 50}}})),
            "spec.deploymentConfiguration.earlySuccessCriteria.sourceServiceRevisionCleanup",
            "BLOCKING or DEFERRED",
        ),
        (
            "EcsService",
            service(json!({
                "deploymentConfiguration": {"minimumHealthyPercent": 75,
                    "earlySuccessCriteria": {"enable": true, "healthyPercent": 50, "sourceServiceRevisionCleanup": "DEFERRED"}}})),
            "spec.deploymentConfiguration.earlySuccessCriteria.healthyPercent",
            "below minimumHealthyPercent",
        ),
        (
            "EcsService",
            service(json!({
                "deploymentConfiguration": {
                    "earlySuccessCriteria": {"enable": true, "healthyPercent": 90, "sourceServiceRevisionCleanup": "BLOCKING"}}})),
            "spec.deploymentConfiguration.earlySuccessCriteria.healthyPercent",
            "below minimumHealthyPercent (100)",
        ),
        (
            "EcsService",
            service(
                json!({"deploymentController": {"type": "EXTERNAL"}, "launchType": null,
                           "networkConfiguration": null}),
            ),
            "spec.taskDefinition",
            "from its task sets",
        ),
        (
            "EcsService",
            service(json!({"launchType": "MANAGED_INSTANCES"})),
            "spec.launchType",
            "capacityProviderStrategy",
        ),
        (
            "EcsService",
            service(
                json!({"launchType": "EC2", "deploymentController": {"type": "CODE_DEPLOY"},
                           "deploymentConfiguration": {"maximumPercent": 150}}),
            ),
            "spec.deploymentConfiguration.maximumPercent",
            "cannot set a custom maximumPercent",
        ),
        (
            "EcsService",
            service(json!({"deploymentController": {"type": "EXTERNAL"},
                           "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true}}})),
            "spec.deploymentConfiguration.deploymentCircuitBreaker",
            "ECS deployment controller",
        ),
        (
            "EcsScalingPolicy",
            policy(
                json!({"stepScalingPolicies": [{"policyName": "all", "adjustmentType": "ChangeInCapacity", "stepAdjustments": [
                {"scalingAdjustment": 1}]}]}),
            ),
            "spec.stepScalingPolicies[0].stepAdjustments[0]",
            "both null",
        ),
        (
            "EcsService",
            service(
                json!({"deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 50}}),
            ),
            "spec.deploymentConfiguration.minimumHealthyPercent",
            "above maximumPercent",
        ),
        (
            "EcsScalingPolicy",
            policy(json!({"minCapacity": 12})),
            "spec.minCapacity",
            "must not exceed maxCapacity",
        ),
        (
            "EcsScalingPolicy",
            policy(
                json!({"targetTrackingPolicies": [{"policyName": "alb", "targetValue": 1000.0,
            "predefinedMetric": {"type": "ALBRequestCountPerTarget"}}]}),
            ),
            "spec.targetTrackingPolicies[0].predefinedMetric.resourceLabel",
            "needs resourceLabel",
        ),
        (
            "EcsScalingPolicy",
            policy(json!({"targetTrackingPolicies": [
            {"policyName": "cpu", "targetValue": 70.0, "predefinedMetric": {"type": "ECSServiceAverageCPUUtilization"}},
            {"policyName": "cpu", "targetValue": 80.0, "predefinedMetric": {"type": "ECSServiceAverageMemoryUtilization"}}]})),
            "spec.targetTrackingPolicies[1].policyName",
            "duplicate policy name",
        ),
        (
            "EcsScalingPolicy",
            policy(
                json!({"scheduledActions": [{"name": "n", "schedule": "every day", "minCapacity": 1}]}),
            ),
            "spec.scheduledActions[0].schedule",
            "not a schedule",
        ),
        (
            "EcsScalingPolicy",
            policy(
                json!({"scheduledActions": [{"name": "n", "schedule": "cron(0 8 * * MON-FRI *)", "minCapacity": 1}]}),
            ),
            "spec.scheduledActions[0].schedule",
            "'?'",
        ),
        (
            "EcsScalingPolicy",
            policy(
                json!({"scheduledActions": [{"name": "n", "schedule": "rate(0 minutes)", "minCapacity": 1}]}),
            ),
            "spec.scheduledActions[0].schedule",
            "positive whole number",
        ),
        (
            "EcsScalingPolicy",
            policy(json!({"resourceId": "web"})),
            "spec.resourceId",
            "service/<cluster-name>/<service-name>",
        ),
        (
            "EcsScalingPolicy",
            policy(
                json!({"stepScalingPolicies": [{"policyName": "gap", "adjustmentType": "ChangeInCapacity", "stepAdjustments": [
                {"metricIntervalLowerBound": 0, "metricIntervalUpperBound": 10, "scalingAdjustment": 1},
                {"metricIntervalLowerBound": 20, "scalingAdjustment": 2}]}]}),
            ),
            "spec.stepScalingPolicies[0].stepAdjustments[1].metricIntervalLowerBound",
            "a gap",
        ),
        (
            "EcsScalingPolicy",
            policy(
                json!({"stepScalingPolicies": [{"policyName": "overlap", "adjustmentType": "ChangeInCapacity", "stepAdjustments": [
                {"metricIntervalLowerBound": 0, "metricIntervalUpperBound": 15, "scalingAdjustment": 1},
                {"metricIntervalLowerBound": 10, "scalingAdjustment": 2}]}]}),
            ),
            "spec.stepScalingPolicies[0].stepAdjustments[1].metricIntervalLowerBound",
            "an overlap",
        ),
        (
            "EcsTaskDefinition",
            {
                let mut spec = fargate_td(json!([app(json!({}))]));
                spec["tags"] = json!(
                    (0..48)
                        .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
                        .collect::<Vec<_>>()
                );
                spec
            },
            "spec.tags",
            "at most 47",
        ),
        (
            "EcsTaskDefinition",
            {
                let mut spec = fargate_td(json!([app(json!({}))]));
                spec["tags"] = json!([{"key": "ecs.operator.dev/owner-uid", "value": "x"}]);
                spec
            },
            "spec.tags[0].key",
            "the operator's own",
        ),
        (
            "EcsService",
            service(json!({"tags": [{"key": "aws:created-by", "value": "x"}]})),
            "spec.tags[0].key",
            "reserved by AWS",
        ),
        (
            "EcsService",
            service(
                json!({"tags": [{"key": "team", "value": "a"}, {"key": "team", "value": "b"}]}),
            ),
            "spec.tags[1].key",
            "duplicate tag key",
        ),
        (
            "EcsService",
            service(json!({"cluster": null})),
            "spec.cluster",
            "exactly one of cluster",
        ),
        (
            "EcsCluster",
            json!({"capacityProviders": ["FARGATE"],
                   "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]}),
            "spec.defaultCapacityProviderStrategy[0].capacityProvider",
            "only the cluster's capacity providers",
        ),
        (
            "EcsCluster",
            json!({"settings": {"containerInsights": "on"}}),
            "spec.settings.containerInsights",
            "unknown variant",
        ),
        (
            "EcsCluster",
            json!({"configuration": {"executeCommandConfiguration": {"logging": "OVERRIDE"}}}),
            "spec.configuration.executeCommandConfiguration.logConfiguration",
            "OVERRIDE needs",
        ),
        (
            "EcsCapacityProvider",
            json!({"name": "fargate-extra", "autoScalingGroupProvider": {"autoScalingGroupArn": "g"}}),
            "spec.name",
            "reserved",
        ),
        (
            "EcsCapacityProvider",
            json!({"autoScalingGroupProvider": {"autoScalingGroupArn": "g",
                   "managedTerminationProtection": "ENABLED"}}),
            "spec.autoScalingGroupProvider.managedTerminationProtection",
            "managedScaling.status: ENABLED",
        ),
        (
            "EcsCapacityProvider",
            json!({"managedInstancesProvider": {"infrastructureRoleArn": "arn:aws:iam::1:role/r"}}),
            "spec.cluster",
            "belongs to one cluster",
        ),
        (
            "EcsTask",
            json!({"cluster": "prod", "taskDefinition": "job", "count": 11}),
            "spec.count",
            "1 to 10",
        ),
        (
            "EcsTask",
            json!({"cluster": "prod", "taskDefinition": "job", "launchType": "FARGATE"}),
            "spec.networkConfiguration.awsvpcConfiguration",
            "awsvpc",
        ),
        (
            "EcsTask",
            json!({"taskDefinition": "job"}),
            "spec.cluster",
            "exactly one of clusterRef",
        ),
        (
            "EcsTask",
            json!({"cluster": "prod", "taskDefinition": "job", "propagateTags": "SERVICE"}),
            "spec.propagateTags",
            "unknown variant",
        ),
    ]
}

#[test]
fn each_invalid_object_names_its_field() {
    let cases = cases();
    assert!(cases.len() >= 15);
    for (i, (kind, spec, path, word)) in cases.into_iter().enumerate() {
        let object = json!({"apiVersion": "ecs.operator.dev/v1alpha1", "kind": kind,
                            "metadata": {"name": format!("case-{i}")}, "spec": spec});
        let file = temp_yaml(&format!("invalid-{i}"), &[object]);
        let (objects, _) = render::load(&file).expect("load");
        let rendered = render::render(&objects);
        assert!(
            rendered.requests.is_empty(),
            "case {i} ({path}) rendered requests"
        );
        assert!(
            rendered
                .errors
                .iter()
                .any(|e| e.error.path == path && e.error.message.contains(word)),
            "case {i}: expected {path} containing {word:?}, got {:#?}",
            rendered.errors
        );
    }
}

#[test]
fn render_command_reports_errors_on_stderr_and_exits_1() {
    let good = json!({"apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsTaskDefinition",
                      "metadata": {"name": "good"}, "spec": fargate_td(json!([{"name": "app", "image": "nginx"}]))});
    let bad = json!({"apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsTaskDefinition",
                     "metadata": {"name": "bad"}, "spec": fargate_td(json!([]))});
    let file = temp_yaml("cli", &[good, bad]);
    let output = Command::new(env!("CARGO_BIN_EXE_ecs-operator"))
        .args(["render", "-f"])
        .arg(&file)
        .output()
        .expect("run ecs-operator");
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 1, "the valid object still renders");
    assert_eq!(lines[0]["name"], "good");
    assert_eq!(lines[0]["operation"], "RegisterTaskDefinition");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("EcsTaskDefinition/bad") && stderr.contains("spec.containerDefinitions"),
        "{stderr}"
    );
}

#[test]
fn render_command_succeeds_on_examples() {
    let output = Command::new(env!("CARGO_BIN_EXE_ecs-operator"))
        .args(["render", "-f"])
        .arg(root().join("examples"))
        .output()
        .expect("run ecs-operator");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let value: Value = serde_json::from_str(line).expect("JSON line");
        for key in ["kind", "name", "service", "operation", "input"] {
            assert!(value.get(key).is_some(), "{key} missing in {line}");
        }
    }
}

#[test]
fn unreadable_yaml_is_an_error_not_a_panic() {
    let dir =
        std::env::temp_dir().join(format!("ecs-operator-test-{}-garbage", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("garbage.yaml");
    std::fs::write(&file, "kind: [unclosed\n").expect("write");
    assert!(render::load(&file).is_err());
}
