//! Described AWS resources -> the manifests that take them over (pure): `ecs-operator import`'s
//! translation. Each manifest carries the adopt annotation and `deletionPolicy: Retain`, drops
//! what AWS reports but never takes (ARNs, counts, timestamps), leaves out what AWS would default
//! anyway, and names objects of the same import by reference (`clusterRef`,
//! `taskDefinitionRef`, `serviceRef`) instead of by ARN. Every manifest is read back through
//! the CRD's Rust type, so what is printed is what the operator accepts.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::api::common::{ADOPT_ANNOTATION, ADOPT_REVISION_ANNOTATION};
use crate::api::{
    EcsClusterSpec, EcsScalingPolicySpec, EcsServiceSpec, EcsTaskDefinitionSpec, GROUP, VERSION,
};
use crate::translate::described;
use crate::translate::tags::{is_aws_reserved, is_operator_key};

/// A Kubernetes object name for an AWS name: lower case, anything but letters, digits, `-` and
/// `.` turned into `-`, at most 253 characters, starting and ending with a letter or digit.
pub fn object_name(aws_name: &str) -> String {
    let mapped: String = aws_name
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(253)
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed.is_empty() {
        "imported".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The last part of an ARN (`.../name`), or the text itself.
fn arn_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// A whole manifest of `kind` around `spec`, with the adopt annotation.
fn manifest(kind: &str, name: &str, namespace: &str, spec: Value) -> Value {
    json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": {ADOPT_ANNOTATION: "true"},
        },
        "spec": spec,
    })
}

/// `spec` read through the CRD's type `S` and written back: members the CRD lacks (from an AWS
/// API newer than this release) are dropped, and a spec the operator would not accept is an
/// error naming the member.
fn checked<S: Serialize + DeserializeOwned>(spec: Value) -> Result<Value, String> {
    let typed: S = match serde_path_to_error::deserialize(spec.clone()) {
        Ok(typed) => typed,
        Err(e) => {
            // Members of a flattened struct lose their path: the member without which the spec
            // reads is the one to name.
            let member = spec.as_object().and_then(|members| {
                members.keys().find(|key| {
                    let mut without = members.clone();
                    without.remove(*key);
                    serde_json::from_value::<S>(Value::Object(without)).is_ok()
                })
            });
            let path = e.path().to_string();
            let at = match member {
                Some(member) if path == "." || path.is_empty() => member.clone(),
                _ => path,
            };
            return Err(format!("spec.{at}: {}", e.inner()));
        }
    };
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

/// The user's tags of a described resource (the operator's and AWS's own left out), or `None`.
fn user_tags(tags: Option<&Value>, key: &str, value: &str) -> Option<Value> {
    let tags: Vec<Value> = tags
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let k = t.get(key)?.as_str()?;
            (!is_operator_key(k) && !is_aws_reserved(k)).then(|| {
                json!({"key": k, "value": t.get(value).and_then(Value::as_str).unwrap_or_default()})
            })
        })
        .collect();
    (!tags.is_empty()).then(|| Value::Array(tags))
}

/// `value` when it says something: not null, not an empty list, object or string, not `false`.
fn meaningful(value: Option<&Value>) -> Option<Value> {
    match value? {
        Value::Null | Value::Bool(false) => None,
        Value::Array(a) if a.is_empty() => None,
        Value::Object(o) if o.is_empty() => None,
        Value::String(s) if s.is_empty() => None,
        other => Some(other.clone()),
    }
}

/// A capacity provider strategy without `base: 0` (the default).
fn strategy(value: Option<&Value>) -> Option<Value> {
    let mut items = meaningful(value)?;
    for item in items.as_array_mut().into_iter().flatten() {
        if let Some(members) = item.as_object_mut()
            && members.get("base").and_then(Value::as_i64) == Some(0)
        {
            members.remove("base");
        }
    }
    Some(items)
}

/// Sets `key` in `spec` when `value` is there.
fn put(spec: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        spec.insert(key.to_owned(), value);
    }
}

/// The EcsCluster of a cluster as `DescribeClusters` (with settings, configurations and tags)
/// reports it.
pub fn cluster(described: &Value, namespace: &str) -> Result<Value, String> {
    let cluster_name = described["clusterName"]
        .as_str()
        .ok_or("the cluster has no clusterName")?;
    let name = object_name(cluster_name);
    let mut spec = Map::new();
    if name != cluster_name {
        spec.insert("clusterName".into(), json!(cluster_name));
    }
    let insights = described["settings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == "containerInsights")
        .and_then(|s| s["value"].as_str());
    if let Some(insights) = insights {
        spec.insert("settings".into(), json!({"containerInsights": insights}));
    }
    for member in [
        "configuration",
        "capacityProviders",
        "serviceConnectDefaults",
    ] {
        put(&mut spec, member, meaningful(described.get(member)));
    }
    put(
        &mut spec,
        "defaultCapacityProviderStrategy",
        strategy(described.get("defaultCapacityProviderStrategy")),
    );
    put(
        &mut spec,
        "tags",
        user_tags(described.get("tags"), "key", "value"),
    );
    spec.insert("deletionPolicy".into(), json!("Retain"));
    let spec = checked::<EcsClusterSpec>(Value::Object(spec))?;
    Ok(manifest("EcsCluster", &name, namespace, spec))
}

/// The EcsTaskDefinition of a revision as `DescribeTaskDefinition` (with tags) answers it
/// (`{"taskDefinition": ..., "tags": ...}`): the revision's content with ECS's defaults left out.
pub fn task_definition(answer: &Value, namespace: &str) -> Result<Value, String> {
    let described = &answer["taskDefinition"];
    let family = described["family"]
        .as_str()
        .ok_or("the task definition has no family")?;
    let body = described::task_definition_body(described)
        .map_err(|e| format!("task definition {family}: {e}"))?;
    let mut spec = serde_json::to_value(described::without_task_definition_defaults(&body))
        .map_err(|e| e.to_string())?;
    if let Some(members) = spec.as_object_mut() {
        put(
            members,
            "tags",
            user_tags(answer.get("tags"), "key", "value"),
        );
        members.insert("deletionPolicy".into(), json!("Retain"));
    }
    let spec = checked::<EcsTaskDefinitionSpec>(spec)?;
    let mut object = manifest("EcsTaskDefinition", &object_name(family), namespace, spec);
    // This revision, not a later identical one: the services run this one.
    if let Some(revision) = described["revision"].as_i64() {
        object["metadata"]["annotations"][ADOPT_REVISION_ANNOTATION] = json!(revision.to_string());
    }
    Ok(object)
}

/// How a service's manifest names what it depends on.
#[derive(Clone, Debug, Default)]
pub struct ServiceLinks {
    /// The EcsCluster of the same import (otherwise the cluster by name).
    pub cluster_ref: Option<String>,
    /// The EcsTaskDefinition of the same import (otherwise the revision's ARN).
    pub task_definition_ref: Option<String>,
    /// Whether an EcsScalingPolicy of the same import owns the desired count (then the spec
    /// leaves it out).
    pub scaled: bool,
}

/// The EcsService of a service as `DescribeServices` (with tags) reports it.
pub fn service(described: &Value, namespace: &str, links: &ServiceLinks) -> Result<Value, String> {
    let service_name = described["serviceName"]
        .as_str()
        .ok_or("the service has no serviceName")?;
    let name = object_name(service_name);
    let mut spec = Map::new();
    match &links.cluster_ref {
        Some(reference) => {
            spec.insert("clusterRef".into(), json!({"name": reference}));
        }
        None => {
            let cluster = described["clusterArn"].as_str().map(arn_name);
            put(&mut spec, "cluster", cluster.map(|c| json!(c)));
        }
    }
    if name != service_name {
        spec.insert("serviceName".into(), json!(service_name));
    }
    let daemon = described["schedulingStrategy"] == "DAEMON";
    let external = described["deploymentController"]["type"] == "EXTERNAL";
    if !external {
        match &links.task_definition_ref {
            Some(reference) => {
                spec.insert("taskDefinitionRef".into(), json!({"name": reference}));
            }
            None => put(
                &mut spec,
                "taskDefinition",
                described.get("taskDefinition").cloned(),
            ),
        }
    }
    if !daemon && !links.scaled {
        put(
            &mut spec,
            "desiredCount",
            described.get("desiredCount").cloned(),
        );
    }
    // An EXTERNAL service's task sets carry its launch type.
    let launch_members: &[&str] = if external {
        &["platformVersion"]
    } else {
        &["launchType", "platformVersion"]
    };
    for member in launch_members {
        put(&mut spec, member, meaningful(described.get(*member)));
    }
    put(
        &mut spec,
        "capacityProviderStrategy",
        strategy(described.get("capacityProviderStrategy")),
    );
    if daemon {
        spec.insert("schedulingStrategy".into(), json!("DAEMON"));
    }
    put(
        &mut spec,
        "deploymentConfiguration",
        deployment_configuration(described.get("deploymentConfiguration"), daemon),
    );
    if described["deploymentController"]["type"]
        .as_str()
        .is_some_and(|t| t != "ECS")
    {
        spec.insert(
            "deploymentController".into(),
            described["deploymentController"].clone(),
        );
    }
    for member in [
        "networkConfiguration",
        "loadBalancers",
        "serviceRegistries",
        "placementConstraints",
        "placementStrategy",
        "enableExecuteCommand",
        "availabilityZoneRebalancing",
    ] {
        put(&mut spec, member, meaningful(described.get(member)));
    }
    if described["healthCheckGracePeriodSeconds"]
        .as_i64()
        .is_some_and(|s| s > 0)
    {
        spec.insert(
            "healthCheckGracePeriodSeconds".into(),
            described["healthCheckGracePeriodSeconds"].clone(),
        );
    }
    // The member is `enableECSManagedTags` in both APIs.
    put(
        &mut spec,
        "enableECSManagedTags",
        meaningful(described.get("enableECSManagedTags")),
    );
    if described["propagateTags"]
        .as_str()
        .is_some_and(|p| p != "NONE")
    {
        spec.insert("propagateTags".into(), described["propagateTags"].clone());
    }
    // ECS reports its service-linked role for services it created one for: not the user's.
    if let Some(role) = described["roleArn"].as_str()
        && !role.contains("aws-service-role/ecs.amazonaws.com")
    {
        spec.insert("role".into(), json!(role));
    }
    // Members only the deployments carry: the primary one's are the service's.
    let primary = described["deployments"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["status"] == "PRIMARY");
    if let Some(primary) = primary {
        for member in [
            "serviceConnectConfiguration",
            "volumeConfigurations",
            "vpcLatticeConfigurations",
        ] {
            put(&mut spec, member, meaningful(primary.get(member)));
        }
    }
    put(
        &mut spec,
        "tags",
        user_tags(described.get("tags"), "key", "value"),
    );
    spec.insert("deletionPolicy".into(), json!("Retain"));
    let spec = checked::<EcsServiceSpec>(Value::Object(spec))?;
    Ok(manifest("EcsService", &name, namespace, spec))
}

/// A deployment configuration without the members that say what ECS would do anyway (the
/// rolling defaults ECS reports are left out whatever the deployment controller: the spec of a
/// CODE_DEPLOY or EXTERNAL service cannot hold them, and the controller does not compare them).
fn deployment_configuration(value: Option<&Value>, daemon: bool) -> Option<Value> {
    let mut config = value?.as_object()?.clone();
    let default_maximum = if daemon { 100 } else { 200 };
    let default_minimum = if daemon { 0 } else { 100 };
    if config.get("maximumPercent").and_then(Value::as_i64) == Some(default_maximum) {
        config.remove("maximumPercent");
    }
    if config.get("minimumHealthyPercent").and_then(Value::as_i64) == Some(default_minimum) {
        config.remove("minimumHealthyPercent");
    }
    if config.get("deploymentCircuitBreaker") == Some(&json!({"enable": false, "rollback": false}))
    {
        config.remove("deploymentCircuitBreaker");
    }
    if config.get("strategy").and_then(Value::as_str) == Some("ROLLING") {
        config.remove("strategy");
    }
    if config.get("bakeTimeInMinutes").and_then(Value::as_i64) == Some(0) {
        config.remove("bakeTimeInMinutes");
    }
    for list in ["lifecycleHooks"] {
        if config
            .get(list)
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            config.remove(list);
        }
    }
    if config
        .get("alarms")
        .and_then(|a| a.get("alarmNames"))
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        config.remove("alarms");
    }
    (!config.is_empty()).then_some(Value::Object(config))
}

/// Application Auto Scaling's PascalCase members in the CRD's camelCase, all the way down.
fn camel_case(value: &Value) -> Value {
    match value {
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(key, value)| {
                    let mut chars = key.chars();
                    let key = chars
                        .next()
                        .map(|first| first.to_ascii_lowercase().to_string() + chars.as_str())
                        .unwrap_or_default();
                    (key, camel_case(value))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(camel_case).collect()),
        other => other.clone(),
    }
}

/// An RFC 3339 time from Application Auto Scaling's epoch seconds (or the text it was given).
fn rfc3339(value: &Value) -> Option<Value> {
    match value {
        Value::Number(n) => {
            let seconds = n.as_f64()?;
            #[allow(clippy::cast_possible_truncation)]
            let stamp = k8s_openapi::jiff::Timestamp::from_second(seconds.floor() as i64).ok()?;
            Some(json!(stamp.to_string()))
        }
        Value::String(s) => Some(json!(s)),
        _ => None,
    }
}

/// The EcsScalingPolicy of a service's scalable target, policies and scheduled actions as
/// Application Auto Scaling describes them. `service_ref` names the EcsService of the same
/// import (otherwise the target's resource id is used).
pub fn scaling_policy(
    target: &Value,
    policies: &[Value],
    actions: &[Value],
    namespace: &str,
    service_ref: Option<&str>,
) -> Result<Value, String> {
    let resource_id = target["ResourceId"]
        .as_str()
        .ok_or("the scalable target has no ResourceId")?;
    let name = object_name(arn_name(resource_id));
    let mut spec = Map::new();
    match service_ref {
        Some(reference) => {
            spec.insert("serviceRef".into(), json!({"name": reference}));
        }
        None => {
            spec.insert("resourceId".into(), json!(resource_id));
        }
    }
    spec.insert("minCapacity".into(), target["MinCapacity"].clone());
    spec.insert("maxCapacity".into(), target["MaxCapacity"].clone());
    let suspended = camel_case(&target["SuspendedState"]);
    if suspended
        .as_object()
        .is_some_and(|s| s.values().any(|v| v == &json!(true)))
    {
        spec.insert("suspendedState".into(), suspended);
    }
    if let Some(role) = target["RoleARN"].as_str()
        && !role.contains("aws-service-role/ecs.application-autoscaling.amazonaws.com")
    {
        spec.insert("roleArn".into(), json!(role));
    }
    let mut tracking = Vec::new();
    let mut steps = Vec::new();
    for policy in policies {
        let policy_name = policy["PolicyName"].clone();
        match policy["PolicyType"].as_str() {
            Some("TargetTrackingScaling") => {
                let config = &policy["TargetTrackingScalingPolicyConfiguration"];
                let mut item = Map::new();
                item.insert("policyName".into(), policy_name);
                item.insert("targetValue".into(), config["TargetValue"].clone());
                if let Some(predefined) = config.get("PredefinedMetricSpecification") {
                    let mut metric = Map::new();
                    metric.insert("type".into(), predefined["PredefinedMetricType"].clone());
                    put(
                        &mut metric,
                        "resourceLabel",
                        meaningful(predefined.get("ResourceLabel")),
                    );
                    item.insert("predefinedMetric".into(), Value::Object(metric));
                }
                put(
                    &mut item,
                    "customizedMetric",
                    config.get("CustomizedMetricSpecification").map(camel_case),
                );
                for (from, to) in [
                    ("ScaleInCooldown", "scaleInCooldown"),
                    ("ScaleOutCooldown", "scaleOutCooldown"),
                    ("DisableScaleIn", "disableScaleIn"),
                ] {
                    put(&mut item, to, meaningful(config.get(from)));
                }
                tracking.push(Value::Object(item));
            }
            Some("StepScaling") => {
                let config = camel_case(&policy["StepScalingPolicyConfiguration"]);
                let mut item = config.as_object().cloned().unwrap_or_default();
                item.insert("policyName".into(), policy_name);
                steps.push(Value::Object(item));
            }
            _ => {}
        }
    }
    put(
        &mut spec,
        "targetTrackingPolicies",
        meaningful(Some(&json!(tracking))),
    );
    put(
        &mut spec,
        "stepScalingPolicies",
        meaningful(Some(&json!(steps))),
    );
    let scheduled: Vec<Value> = actions
        .iter()
        .map(|action| {
            let mut item = Map::new();
            item.insert("name".into(), action["ScheduledActionName"].clone());
            item.insert("schedule".into(), action["Schedule"].clone());
            if action["Timezone"].as_str().is_some_and(|z| z != "UTC") {
                item.insert("timezone".into(), action["Timezone"].clone());
            }
            put(
                &mut item,
                "startTime",
                action.get("StartTime").and_then(rfc3339),
            );
            put(
                &mut item,
                "endTime",
                action.get("EndTime").and_then(rfc3339),
            );
            let capacity = &action["ScalableTargetAction"];
            put(
                &mut item,
                "minCapacity",
                capacity.get("MinCapacity").cloned(),
            );
            put(
                &mut item,
                "maxCapacity",
                capacity.get("MaxCapacity").cloned(),
            );
            Value::Object(item)
        })
        .collect();
    put(
        &mut spec,
        "scheduledActions",
        meaningful(Some(&json!(scheduled))),
    );
    spec.insert("deletionPolicy".into(), json!("Retain"));
    let spec = checked::<EcsScalingPolicySpec>(Value::Object(spec))?;
    Ok(manifest("EcsScalingPolicy", &name, namespace, spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_are_valid_kubernetes_names() {
        assert_eq!(object_name("My_Service"), "my-service");
        assert_eq!(object_name("_web_"), "web");
        assert_eq!(object_name("___"), "imported");
        assert_eq!(object_name(&"a".repeat(300)).len(), 253);
    }

    fn described_service() -> Value {
        json!({
            "serviceArn": "arn:aws:ecs:us-east-1:1:service/prod/Web_API",
            "serviceName": "Web_API",
            "clusterArn": "arn:aws:ecs:us-east-1:1:cluster/prod",
            "status": "ACTIVE", "desiredCount": 3, "runningCount": 3, "pendingCount": 0,
            "launchType": "FARGATE", "platformVersion": "LATEST",
            "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/web:7",
            "deploymentConfiguration": {
                "deploymentCircuitBreaker": {"enable": false, "rollback": false},
                "maximumPercent": 200, "minimumHealthyPercent": 100, "strategy": "ROLLING",
                "bakeTimeInMinutes": 0
            },
            "deploymentController": {"type": "ECS"},
            "deployments": [{"id": "ecs-svc/1", "status": "PRIMARY",
                             "serviceConnectConfiguration": {"enabled": true, "namespace": "internal"}}],
            "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}},
            "loadBalancers": [], "serviceRegistries": [], "placementConstraints": [],
            "placementStrategy": [], "healthCheckGracePeriodSeconds": 0,
            "schedulingStrategy": "REPLICA", "enableECSManagedTags": false,
            "propagateTags": "NONE", "enableExecuteCommand": false,
            "roleArn": "arn:aws:iam::1:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
            "createdAt": 1733000000.0, "events": [{"message": "steady"}],
            "tags": [{"key": "team", "value": "a"},
                     {"key": "ecs.operator.dev/owner", "value": "x"},
                     {"key": "aws:cloudformation:stack-name", "value": "s"}]
        })
    }

    #[test]
    fn a_service_keeps_what_the_user_set_and_drops_defaults_and_read_only_members() {
        let links = ServiceLinks {
            cluster_ref: None,
            task_definition_ref: Some("web".into()),
            scaled: false,
        };
        let object = service(&described_service(), "apps", &links).expect("service");
        assert_eq!(object["metadata"]["name"], "web-api");
        assert_eq!(object["metadata"]["annotations"][ADOPT_ANNOTATION], "true");
        assert_eq!(
            object["spec"],
            json!({
                "cluster": "prod",
                "serviceName": "Web_API",
                "taskDefinitionRef": {"name": "web"},
                "desiredCount": 3,
                "launchType": "FARGATE",
                "platformVersion": "LATEST",
                "networkConfiguration": {"awsvpcConfiguration": {
                    "subnets": ["subnet-1"], "securityGroups": ["sg-1"],
                    "assignPublicIp": "DISABLED"}},
                "serviceConnectConfiguration": {"enabled": true, "namespace": "internal"},
                "tags": [{"key": "team", "value": "a"}],
                "deletionPolicy": "Retain"
            })
        );
    }

    #[test]
    fn a_scaled_service_leaves_its_count_to_the_policy_and_daemons_have_none() {
        let links = ServiceLinks {
            scaled: true,
            ..Default::default()
        };
        let object = service(&described_service(), "apps", &links).expect("service");
        assert!(object["spec"].get("desiredCount").is_none());
        assert_eq!(
            object["spec"]["taskDefinition"],
            "arn:aws:ecs:us-east-1:1:task-definition/web:7"
        );
        let mut daemon = described_service();
        daemon["schedulingStrategy"] = json!("DAEMON");
        daemon["launchType"] = json!("EC2");
        daemon["deploymentConfiguration"] =
            json!({"maximumPercent": 100, "minimumHealthyPercent": 0});
        let object = service(&daemon, "apps", &ServiceLinks::default()).expect("daemon");
        assert_eq!(object["spec"]["schedulingStrategy"], "DAEMON");
        assert!(object["spec"].get("desiredCount").is_none());
        assert!(object["spec"].get("deploymentConfiguration").is_none());
    }

    #[test]
    fn autoscaling_is_translated_from_its_pascal_case() {
        let target = json!({
            "ServiceNamespace": "ecs", "ResourceId": "service/prod/web",
            "ScalableDimension": "ecs:service:DesiredCount", "MinCapacity": 1, "MaxCapacity": 8,
            "RoleARN": "arn:aws:iam::1:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService",
            "SuspendedState": {"DynamicScalingInSuspended": false,
                               "DynamicScalingOutSuspended": false,
                               "ScheduledScalingSuspended": false}
        });
        let policies = [
            json!({"PolicyName": "cpu", "PolicyType": "TargetTrackingScaling",
                   "TargetTrackingScalingPolicyConfiguration": {
                       "TargetValue": 60.0, "ScaleInCooldown": 300, "DisableScaleIn": false,
                       "CustomizedMetricSpecification": {
                           "MetricName": "Depth", "Namespace": "App", "Statistic": "Average",
                           "Dimensions": [{"Name": "Queue", "Value": "jobs"}]}}}),
            json!({"PolicyName": "burst", "PolicyType": "StepScaling",
                   "StepScalingPolicyConfiguration": {
                       "AdjustmentType": "ChangeInCapacity", "Cooldown": 60,
                       "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 2}]}}),
        ];
        let actions = [json!({
            "ScheduledActionName": "weekend", "Schedule": "cron(0 0 ? * SAT *)", "Timezone": "Europe/Berlin",
            "StartTime": 1767225600.0, "ScalableTargetAction": {"MinCapacity": 0, "MaxCapacity": 1}
        })];
        let object =
            scaling_policy(&target, &policies, &actions, "apps", None).expect("scaling policy");
        let spec = &object["spec"];
        assert_eq!(spec["resourceId"], "service/prod/web");
        assert!(spec.get("roleArn").is_none() && spec.get("suspendedState").is_none());
        assert_eq!(
            spec["targetTrackingPolicies"][0]["customizedMetric"]["dimensions"],
            json!([{"name": "Queue", "value": "jobs"}])
        );
        assert!(
            spec["targetTrackingPolicies"][0]
                .get("disableScaleIn")
                .is_none()
        );
        assert_eq!(
            spec["stepScalingPolicies"][0],
            json!({"policyName": "burst", "adjustmentType": "ChangeInCapacity", "cooldown": 60,
                   "stepAdjustments": [{"metricIntervalLowerBound": 0.0, "scalingAdjustment": 2}]})
        );
        assert_eq!(
            spec["scheduledActions"][0],
            json!({"name": "weekend", "schedule": "cron(0 0 ? * SAT *)",
                   "timezone": "Europe/Berlin", "startTime": "2026-01-01T00:00:00Z",
                   "minCapacity": 0, "maxCapacity": 1})
        );
    }

    #[test]
    fn a_cluster_keeps_its_settings_configuration_and_user_tags() {
        let described = json!({
            "clusterArn": "arn:aws:ecs:us-east-1:1:cluster/prod", "clusterName": "prod",
            "status": "ACTIVE", "runningTasksCount": 4,
            "settings": [{"name": "containerInsights", "value": "enhanced"}],
            "configuration": {"executeCommandConfiguration": {"logging": "DEFAULT"}},
            "capacityProviders": ["FARGATE"],
            "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}],
            "tags": [{"key": "team", "value": "a"}]
        });
        let object = cluster(&described, "apps").expect("cluster");
        assert_eq!(
            object["spec"],
            json!({
                "settings": {"containerInsights": "enhanced"},
                "configuration": {"executeCommandConfiguration": {"logging": "DEFAULT"}},
                "capacityProviders": ["FARGATE"],
                "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}],
                "tags": [{"key": "team", "value": "a"}],
                "deletionPolicy": "Retain"
            })
        );
    }

    #[test]
    fn what_the_crd_cannot_hold_is_an_error_naming_the_member() {
        let mut bad = described_service();
        bad["launchType"] = json!(7);
        let error = service(&bad, "apps", &ServiceLinks::default()).expect_err("refused");
        assert!(error.contains("launchType"), "{error}");
    }
}
