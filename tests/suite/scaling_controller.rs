//! EcsScalingPolicy controller end to end: a real Kubernetes API server (or $E2E_KUBECONFIG) + the
//! operator's controllers + the AWS proxy with its ECS model + moto (Application Auto Scaling).

use crate::common;

use std::time::{Duration, Instant};

use aws_sdk_applicationautoscaling as aas;
use common::stack::{Bed, ec2};
use ecs_operator::api::EcsScalingPolicy;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

fn autoscaling(bed: &Bed) -> aas::Client {
    let config = aas::Config::builder()
        .behavior_version(aas::config::BehaviorVersion::latest())
        .region(aas::config::Region::new("us-east-1"))
        .endpoint_url(bed.proxy.url())
        .credentials_provider(aas::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    aas::Client::from_conf(config)
}

async fn create_policy(bed: &Bed, name: &str, spec: Value) {
    let object: EcsScalingPolicy = serde_json::from_value(json!({
        "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsScalingPolicy",
        "metadata": {"name": name}, "spec": spec
    }))
    .expect("policy");
    bed.policies()
        .create(&PostParams::default(), &object)
        .await
        .expect("created");
}

async fn wait_policy(
    bed: &Bed,
    name: &str,
    what: &str,
    check: impl Fn(&EcsScalingPolicy) -> bool,
) -> EcsScalingPolicy {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(object) = bed.policies().get(name).await {
            if check(&object) {
                return object;
            }
            assert!(
                Instant::now() < deadline,
                "{name}: never {what}: {:#?}",
                object.status
            );
        } else {
            assert!(Instant::now() < deadline, "{name}: never {what}: missing");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn policy_condition(object: &EcsScalingPolicy, type_: &str) -> (String, String, String) {
    object
        .status
        .as_ref()
        .and_then(|s| s.reconcile.conditions.iter().find(|c| c.type_ == type_))
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
        .unwrap_or_default()
}

async fn wait_policy_ready(bed: &Bed, name: &str) -> EcsScalingPolicy {
    wait_policy(bed, name, "Ready", |o| {
        policy_condition(o, "Ready").0 == "True"
            && o.status
                .as_ref()
                .and_then(|s| s.reconcile.observed_generation)
                == o.metadata.generation
    })
    .await
}

async fn targets(client: &aas::Client, id: &str) -> Vec<aas::types::ScalableTarget> {
    client
        .describe_scalable_targets()
        .service_namespace(aas::types::ServiceNamespace::Ecs)
        .resource_ids(id)
        .send()
        .await
        .expect("targets")
        .scalable_targets()
        .to_vec()
}

async fn policies(client: &aas::Client, id: &str) -> Vec<aas::types::ScalingPolicy> {
    client
        .describe_scaling_policies()
        .service_namespace(aas::types::ServiceNamespace::Ecs)
        .resource_id(id)
        .send()
        .await
        .expect("policies")
        .scaling_policies()
        .to_vec()
}

async fn actions(client: &aas::Client, id: &str) -> Vec<aas::types::ScheduledAction> {
    client
        .describe_scheduled_actions()
        .service_namespace(aas::types::ServiceNamespace::Ecs)
        .resource_id(id)
        .send()
        .await
        .expect("actions")
        .scheduled_actions()
        .to_vec()
}

async fn edit(bed: &Bed, patch: Value) {
    bed.policies()
        .patch("web", &PatchParams::default(), &Patch::Merge(patch))
        .await
        .expect("patched");
}

async fn wait_generation(bed: &Bed, generation: i64) {
    wait_policy(bed, "web", "Ready at the new generation", |o| {
        policy_condition(o, "Ready").0 == "True"
            && o.status
                .as_ref()
                .and_then(|s| s.reconcile.observed_generation)
                == Some(generation)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_setup_is_present_as_specified_and_ready() {
    let mut bed = Bed::start().await;
    bed.register_fargate("web-app", "nginx:1").await;
    let kubectl = |args: &[&str]| {
        let output = std::process::Command::new("kubectl")
            .args(args)
            .args(["--namespace", bed.ns()])
            .env("KUBECONFIG", &bed.cluster.kubeconfig)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("kubectl");
        assert!(
            output.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    // Policies first, then what they scale: the order must not matter.
    tokio::task::block_in_place(|| {
        kubectl(&["apply", "-f", "examples/scaling/"]);
        kubectl(&["apply", "-f", "examples/task-definitions/"]);
        kubectl(&["apply", "-f", "examples/services/"]);
    });
    let out = tokio::task::block_in_place(|| {
        kubectl(&[
            "wait",
            "--for=condition=Ready",
            "ecssp",
            "--all",
            "--timeout=120s",
        ])
    });
    assert_eq!(out.matches("condition met").count(), 3, "{out}");
    let client = autoscaling(&bed);
    for (id, policy, value) in [
        ("service/my-cluster/discoverable", "cpu70", 70.0),
        ("service/my-cluster/spot-mix", "memory80", 80.0),
        ("service/my-cluster/web-service", "requests1000", 1000.0),
    ] {
        let found = targets(&client, id).await;
        assert_eq!(found.len(), 1, "{id}");
        assert_eq!(
            (found[0].min_capacity(), found[0].max_capacity()),
            (2, 10),
            "{id}"
        );
        let found = policies(&client, id).await;
        assert_eq!(found.len(), 1, "{id}: {found:?}");
        let config = found[0]
            .target_tracking_scaling_policy_configuration()
            .expect("target tracking");
        assert_eq!(
            (found[0].policy_name(), config.target_value()),
            (policy, value)
        );
        if policy == "cpu70" {
            assert_eq!(
                (config.scale_in_cooldown(), config.scale_out_cooldown()),
                (Some(300), Some(60))
            );
        }
        if policy == "requests1000" {
            assert_eq!(
                config
                    .predefined_metric_specification()
                    .and_then(|m| m.resource_label()),
                Some("app/my-alb/50dc6c495c0c9188/targetgroup/my-targets/73e2d6bc24d8a067")
            );
            let names: Vec<String> = actions(&client, id)
                .await
                .iter()
                .map(|a| a.scheduled_action_name().to_owned())
                .collect();
            assert_eq!(names.len(), 2, "{names:?}");
        }
    }
    // The autoscaler owns desiredCount: never sent after creation for the scaled services.
    let counts: Vec<Value> = bed
        .requests("UpdateService")
        .into_iter()
        .filter(|u| u.get("desiredCount").is_some())
        .collect();
    assert!(counts.is_empty(), "{counts:?}");
    let status = bed
        .policies()
        .get("alb-request-count")
        .await
        .expect("object")
        .status
        .expect("status");
    assert_eq!(
        status.resource_id.as_deref(),
        Some("service/my-cluster/web-service")
    );
    assert_eq!(status.policies.len(), 1);
    assert!(status.policies[0].policy_arn.starts_with("arn:"));
    assert_eq!(status.scheduled_actions.len(), 2);
    bed.stop_controllers().await;
}

#[tokio::test]
async fn changes_cost_exactly_their_calls_and_deletion_leaves_nothing() {
    let mut bed = Bed::start().await;
    bed.register("app", "nginx:1").await;
    bed.create_service("web", ec2(json!({"taskDefinition": "app:1"})))
        .await;
    let spec = json!({"serviceRef": {"name": "web"}, "minCapacity": 2, "maxCapacity": 10,
        "targetTrackingPolicies": [
            {"policyName": "cpu", "targetValue": 70.0, "predefinedMetric": {"type": "ECSServiceAverageCPUUtilization"}},
            {"policyName": "memory", "targetValue": 80.0, "predefinedMetric": {"type": "ECSServiceAverageMemoryUtilization"}}]});
    create_policy(&bed, "web", spec).await;
    wait_policy_ready(&bed, "web").await;
    let client = autoscaling(&bed);
    let id = "service/prod/web";
    // min/max: one RegisterScalableTarget, without tags.
    bed.proxy.clear();
    edit(&bed, json!({"spec": {"minCapacity": 3, "maxCapacity": 12}})).await;
    wait_generation(&bed, 2).await;
    let registers = bed.requests("RegisterScalableTarget");
    assert_eq!(registers.len(), 1, "{registers:?}");
    assert!(registers[0].get("Tags").is_none(), "{:?}", registers[0]);
    assert!(bed.requests("PutScalingPolicy").is_empty());
    let found = targets(&client, id).await;
    assert_eq!((found[0].min_capacity(), found[0].max_capacity()), (3, 12));

    // A target value: one PutScalingPolicy.
    bed.proxy.clear();
    edit(&bed, json!({"spec": {"targetTrackingPolicies": [
        {"policyName": "cpu", "targetValue": 60.0, "predefinedMetric": {"type": "ECSServiceAverageCPUUtilization"}},
        {"policyName": "memory", "targetValue": 80.0, "predefinedMetric": {"type": "ECSServiceAverageMemoryUtilization"}}]}}))
    .await;
    wait_generation(&bed, 3).await;
    let puts = bed.requests("PutScalingPolicy");
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert_eq!(puts[0]["PolicyName"], "cpu");
    assert!(bed.requests("RegisterScalableTarget").is_empty());

    // A removed policy is deleted; an added scheduled action is present.
    bed.proxy.clear();
    edit(&bed, json!({"spec": {
        "targetTrackingPolicies": [{"policyName": "cpu", "targetValue": 60.0, "predefinedMetric": {"type": "ECSServiceAverageCPUUtilization"}}],
        "scheduledActions": [{"name": "nightly", "schedule": "cron(0 22 * * ? *)", "minCapacity": 1, "maxCapacity": 4}]}}))
    .await;
    wait_generation(&bed, 4).await;
    let names: Vec<String> = policies(&client, id)
        .await
        .iter()
        .map(|p| p.policy_name().to_owned())
        .collect();
    assert_eq!(names, ["cpu"]);
    assert_eq!(bed.requests("DeleteScalingPolicy").len(), 1);
    let found = actions(&client, id).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].scheduled_action_name(), "nightly");

    // Deleting the object leaves nothing in Application Auto Scaling for the service.
    bed.policies()
        .delete("web", &DeleteParams::default())
        .await
        .expect("deleted");
    let deadline = Instant::now() + Duration::from_secs(60);
    while bed.policies().get("web").await.is_ok() {
        assert!(Instant::now() < deadline, "never went away");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(targets(&client, id).await.is_empty());
    assert!(policies(&client, id).await.is_empty());
    assert!(actions(&client, id).await.is_empty());
    bed.stop_controllers().await;
}

#[tokio::test]
async fn policy_and_service_converge_in_either_order_and_desired_count_is_never_sent_after() {
    let mut bed = Bed::start().await;
    bed.register("order", "nginx:1").await;
    // Policy first: it waits for its service, which is created at the policy's minimum.
    create_policy(
        &bed,
        "first",
        json!({"serviceRef": {"name": "first"}, "minCapacity": 3, "maxCapacity": 6}),
    )
    .await;
    let waiting = wait_policy(&bed, "first", "waiting for the service", |o| {
        policy_condition(o, "Reconciling").1 == "ServiceNotFound"
    })
    .await;
    assert!(
        policy_condition(&waiting, "Reconciling")
            .2
            .contains("first")
    );
    let mut open = ec2(json!({"taskDefinition": "order:1"}));
    open.as_object_mut().expect("object").remove("desiredCount");
    bed.create_service("first", open).await;
    // Service first (with a desired count of its own), then the policy.
    bed.create_service(
        "second",
        ec2(json!({"taskDefinition": "order:1", "desiredCount": 2})),
    )
    .await;
    bed.wait_ready("second").await;
    create_policy(
        &bed,
        "second",
        json!({"serviceRef": {"name": "second"}, "minCapacity": 1, "maxCapacity": 5}),
    )
    .await;
    for name in ["first", "second"] {
        wait_policy_ready(&bed, name).await;
        bed.wait_ready(name).await;
    }
    let creates = bed.requests("CreateService");
    let first = creates
        .iter()
        .find(|c| c["serviceName"] == "first")
        .expect("first created");
    assert_eq!(first["desiredCount"], 3, "created at the policy's minimum");
    // The service controller knows the autoscaler owns the count now.
    bed.wait_for("second", "autoscaled", |o| {
        o.status.as_ref().and_then(|s| s.autoscaled) == Some(true)
    })
    .await;
    bed.ecs
        .update_service()
        .cluster("prod")
        .service("second")
        .desired_count(4)
        .send()
        .await
        .expect("scaled by the autoscaler");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sent: Vec<Value> = bed
        .requests("UpdateService")
        .into_iter()
        .filter(|u| u.get("desiredCount").is_some() && u["desiredCount"] != 4)
        .collect();
    assert!(sent.is_empty(), "{sent:?}");
    bed.stop_controllers().await;
}

/// A scalable target registered by someone else is not taken over: Stalled AlreadyExists until
/// the adopt annotation, then owner-tagged (TagResource) and Ready.
#[tokio::test]
async fn an_existing_untagged_target_is_adopted_only_with_the_annotation() {
    let mut bed = Bed::with(common::cluster().await, Duration::from_secs(2)).await;
    bed.register("theirs", "nginx:1").await;
    bed.create_service("theirs", ec2(json!({"taskDefinition": "theirs:1"})))
        .await;
    let client = autoscaling(&bed);
    let id = "service/prod/theirs";
    // The ECS service may take a moment to be seen by Application Auto Scaling.
    let deadline = Instant::now() + Duration::from_secs(30);
    let arn = loop {
        match client
            .register_scalable_target()
            .service_namespace(aas::types::ServiceNamespace::Ecs)
            .scalable_dimension(aas::types::ScalableDimension::EcsServiceDesiredCount)
            .resource_id(id)
            .min_capacity(1)
            .max_capacity(2)
            .send()
            .await
        {
            Ok(out) => break out.scalable_target_arn().expect("arn").to_owned(),
            Err(e) => {
                assert!(Instant::now() < deadline, "registration: {e:?}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    };
    create_policy(
        &bed,
        "theirs",
        json!({"serviceRef": {"name": "theirs"}, "minCapacity": 1, "maxCapacity": 4}),
    )
    .await;
    let stalled = wait_policy(&bed, "theirs", "Stalled", |o| {
        policy_condition(o, "Stalled").0 == "True"
    })
    .await;
    assert_eq!(policy_condition(&stalled, "Stalled").1, "AlreadyExists");
    assert_eq!(
        targets(&client, id).await[0].max_capacity(),
        2,
        "nothing changed on a target that is not ours"
    );
    bed.policies()
        .patch(
            "theirs",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"ecs.operator.dev/adopt": "true"}}})),
        )
        .await
        .expect("annotated");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let object = bed.policies().get("theirs").await.expect("policy");
        if policy_condition(&object, "Ready").0 == "True"
            && targets(&client, id).await[0].max_capacity() == 4
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never adopted: {:#?}",
            object.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .expect("tags");
    assert!(
        tags.tags()
            .is_some_and(|t| t.keys().any(|k| k.starts_with("ecs.operator.dev/"))),
        "the adopted target carries the owner tags: {tags:?}"
    );
    bed.stop_controllers().await;
}

#[tokio::test]
async fn a_service_deleted_out_of_band_gets_its_target_and_policies_back() {
    let mut bed = Bed::with(common::cluster().await, Duration::from_secs(2)).await;
    bed.register("lost", "nginx:1").await;
    bed.create_service("lost", ec2(json!({"taskDefinition": "lost:1"})))
        .await;
    create_policy(
        &bed,
        "lost",
        json!({"serviceRef": {"name": "lost"}, "minCapacity": 1, "maxCapacity": 4,
               "targetTrackingPolicies": [{"policyName": "cpu", "targetValue": 50.0, "predefinedMetric": {"type": "ECSServiceAverageCPUUtilization"}}]}),
    )
    .await;
    wait_policy_ready(&bed, "lost").await;
    let client = autoscaling(&bed);
    let id = "service/prod/lost";
    bed.ecs
        .delete_service()
        .cluster("prod")
        .service("lost")
        .force(true)
        .send()
        .await
        .expect("deleted behind the operator's back");
    assert!(
        targets(&client, id).await.is_empty(),
        "AWS removed the target with the service"
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let back = targets(&client, id).await.len() == 1 && policies(&client, id).await.len() == 1;
        if back {
            break;
        }
        assert!(Instant::now() < deadline, "never came back");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bed.stop_controllers().await;
}

#[tokio::test]
async fn daemon_services_bad_steps_and_step_policies_are_reported() {
    let mut bed = Bed::start().await;
    bed.register("agent", "nginx:1").await;
    bed.create_service(
        "agent",
        json!({"cluster": "prod", "taskDefinition": "agent:1", "launchType": "EC2", "schedulingStrategy": "DAEMON"}),
    )
    .await;
    create_policy(
        &bed,
        "agent",
        json!({"serviceRef": {"name": "agent"}, "minCapacity": 1, "maxCapacity": 2}),
    )
    .await;
    let stalled = wait_policy(&bed, "agent", "Stalled", |o| {
        policy_condition(o, "Stalled").0 == "True"
    })
    .await;
    assert_eq!(policy_condition(&stalled, "Stalled").1, "DaemonNotScalable");

    bed.register("steps", "nginx:1").await;
    bed.create_service("steps", ec2(json!({"taskDefinition": "steps:1"})))
        .await;
    // Overlapping steps (the schema cannot say so): Stalled with the field, no AWS write.
    create_policy(
        &bed,
        "bad",
        json!({"resourceId": "service/prod/steps", "minCapacity": 1, "maxCapacity": 4,
               "stepScalingPolicies": [{"policyName": "up", "adjustmentType": "ChangeInCapacity", "stepAdjustments": [
                   {"metricIntervalLowerBound": 0, "metricIntervalUpperBound": 20, "scalingAdjustment": 1},
                   {"metricIntervalLowerBound": 10, "scalingAdjustment": 2}]}]}),
    )
    .await;
    let bad = wait_policy(&bed, "bad", "Stalled", |o| {
        policy_condition(o, "Stalled").0 == "True"
    })
    .await;
    let (_, reason, message) = policy_condition(&bad, "Stalled");
    assert_eq!(reason, "InvalidSpec");
    assert!(
        message.contains("spec.stepScalingPolicies[0].stepAdjustments[1].metricIntervalLowerBound"),
        "{message}"
    );
    assert!(
        bed.requests("RegisterScalableTarget").is_empty(),
        "no AWS write for an invalid spec"
    );
    // A valid step policy: Ready, with the alarm to create named in the message and an Event.
    create_policy(
        &bed,
        "steps",
        json!({"serviceRef": {"name": "steps"}, "minCapacity": 1, "maxCapacity": 4,
               "stepScalingPolicies": [{"policyName": "up", "adjustmentType": "ChangeInCapacity", "stepAdjustments": [
                   {"metricIntervalLowerBound": 0, "metricIntervalUpperBound": 20, "scalingAdjustment": 1},
                   {"metricIntervalLowerBound": 20, "scalingAdjustment": 2}]}]}),
    )
    .await;
    let ready = wait_policy_ready(&bed, "steps").await;
    let message = policy_condition(&ready, "Ready").2;
    assert!(message.contains("CloudWatch alarm"), "{message}");
    bed.wait_event("steps", |(t, r, _)| t == "Warning" && r == "AlarmNeeded")
        .await;
    bed.stop_controllers().await;
}

/// A policy or scheduled action removed from the spec stays in status until AWS deleted it: when
/// the delete fails (refused once, lifted before the next pass), the next pass deletes it, and
/// nothing is left acting in AWS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delete_of_a_removed_policy_is_retried_until_aws_has_none() {
    use ecs_testbed::aws::proxy::{Fault, FaultRule};
    let mut bed = Bed::with_resync(Duration::from_millis(1500)).await;
    bed.register("app", "nginx:1").await;
    bed.create_service("web", ec2(json!({"taskDefinition": "app:1"})))
        .await;
    let cpu = json!({"policyName": "cpu", "targetValue": 70.0, "predefinedMetric": {"type": "ECSServiceAverageCPUUtilization"}});
    let memory = json!({"policyName": "memory", "targetValue": 80.0, "predefinedMetric": {"type": "ECSServiceAverageMemoryUtilization"}});
    create_policy(
        &bed,
        "web",
        json!({"serviceRef": {"name": "web"}, "minCapacity": 1, "maxCapacity": 4,
               "targetTrackingPolicies": [cpu, memory],
               "scheduledActions": [{"name": "nightly", "schedule": "cron(0 22 * * ? *)", "minCapacity": 1, "maxCapacity": 2}]}),
    )
    .await;
    wait_policy_ready(&bed, "web").await;
    let client = autoscaling(&bed);
    let id = "service/prod/web";
    let refused = |operation: &str| FaultRule {
        operation: format!("application-autoscaling:{operation}"),
        probability: None,
        every_nth: None,
        max_times: Some(1),
        fault: Fault::AwsError {
            status: 400,
            code: "AccessDeniedException".into(),
            message: format!(
                "User is not authorized to perform: application-autoscaling:{operation}"
            ),
        },
    };
    for (operation, patch) in [
        (
            "DeleteScalingPolicy",
            json!({"spec": {"targetTrackingPolicies": [cpu]}}),
        ),
        (
            "DeleteScheduledAction",
            json!({"spec": {"scheduledActions": null}}),
        ),
    ] {
        bed.proxy.clear();
        bed.proxy.set_faults(vec![refused(operation)]);
        let generation = bed
            .policies()
            .patch("web", &PatchParams::default(), &Patch::Merge(patch))
            .await
            .expect("patched")
            .metadata
            .generation
            .expect("generation");
        wait_generation(&bed, generation).await;
        let calls: Vec<u16> = bed
            .proxy
            .requests()
            .iter()
            .filter(|r| r.operation == operation)
            .map(|r| r.status)
            .collect();
        assert_eq!(
            calls.len(),
            2,
            "{operation}: refused once, then sent again: {calls:?}"
        );
        assert_ne!(calls[0], 200);
        assert_eq!(calls[1], 200);
    }
    let names: Vec<String> = policies(&client, id)
        .await
        .iter()
        .map(|p| p.policy_name().to_owned())
        .collect();
    assert_eq!(names, ["cpu"], "the removed policy is gone from AWS");
    assert!(
        actions(&client, id).await.is_empty(),
        "and the removed action"
    );
    let status = bed
        .policies()
        .get("web")
        .await
        .expect("object")
        .status
        .expect("status");
    assert_eq!(status.policies.len(), 1);
    assert!(status.scheduled_actions.is_empty());
    bed.stop_controllers().await;
}

/// Removing a scheduled action's bound deletes the action and puts it again (a put keeps what it
/// leaves out), and the time zone left out of the spec is sent as UTC; AWS then holds no bound
/// and UTC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_scheduled_action_bound_is_deleted_with_the_action() {
    let mut bed = Bed::start().await;
    bed.register("app", "nginx:1").await;
    bed.create_service("web", ec2(json!({"taskDefinition": "app:1"})))
        .await;
    create_policy(
        &bed,
        "web",
        json!({"serviceRef": {"name": "web"}, "minCapacity": 1, "maxCapacity": 4,
               "scheduledActions": [{"name": "nightly", "schedule": "cron(0 22 * * ? *)",
                                     "timezone": "Europe/Berlin", "minCapacity": 1, "maxCapacity": 2}]}),
    )
    .await;
    wait_policy_ready(&bed, "web").await;
    bed.proxy.clear();
    let generation = bed
        .policies()
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"scheduledActions": [
                {"name": "nightly", "schedule": "cron(0 22 * * ? *)", "minCapacity": 1}]}})),
        )
        .await
        .expect("patched")
        .metadata
        .generation
        .expect("generation");
    wait_generation(&bed, generation).await;
    let calls: Vec<String> = bed
        .proxy
        .requests()
        .iter()
        .filter(|r| r.operation.contains("ScheduledAction") && r.status == 200)
        .map(|r| r.operation.clone())
        .filter(|o| o != "DescribeScheduledActions")
        .collect();
    assert_eq!(calls, ["DeleteScheduledAction", "PutScheduledAction"]);
    let put = bed
        .proxy
        .requests()
        .into_iter()
        .find(|r| r.operation == "PutScheduledAction")
        .expect("put");
    assert_eq!(put.body["Timezone"], json!("UTC"));
    let held = actions(&autoscaling(&bed), "service/prod/web").await;
    assert_eq!(held.len(), 1);
    let action = held[0].scalable_target_action().expect("action");
    assert_eq!(action.min_capacity(), Some(1));
    assert_eq!(action.max_capacity(), None, "the removed bound is gone");
    assert_eq!(held[0].timezone(), Some("UTC"));
    bed.stop_controllers().await;
}

/// A policy deleted and a scheduled action changed outside the operator are put back at the
/// next resync. Settled objects are checked against listings of the whole ECS namespace
/// (DescribeScalingPolicies / DescribeScheduledActions without a resource id); only an object
/// whose listing shows something amiss is read directly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_of_policies_and_actions_is_repaired_at_resync() {
    let mut bed = Bed::with_resync(Duration::from_secs(2)).await;
    bed.register("app", "nginx:1").await;
    bed.create_service("web", ec2(json!({"taskDefinition": "app:1"})))
        .await;
    create_policy(
        &bed,
        "web",
        json!({"serviceRef": {"name": "web"}, "minCapacity": 1, "maxCapacity": 4,
               "targetTrackingPolicies": [{"policyName": "cpu", "targetValue": 70.0,
                 "predefinedMetric": {"type": "ECSServiceAverageCPUUtilization"}}],
               "scheduledActions": [{"name": "nightly", "schedule": "cron(0 22 * * ? *)", "minCapacity": 1, "maxCapacity": 2}]}),
    )
    .await;
    wait_policy_ready(&bed, "web").await;
    let client = autoscaling(&bed);
    let id = "service/prod/web";
    // Settled resyncs read listings, not the object.
    bed.proxy.clear();
    let deadline = Instant::now() + Duration::from_secs(30);
    while bed.requests("DescribeScalingPolicies").is_empty() {
        assert!(Instant::now() < deadline, "no resync read");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for read in bed.requests("DescribeScalingPolicies") {
        assert!(read.get("ResourceId").is_none(), "a listing: {read}");
    }
    // Drift, made outside the operator.
    client
        .delete_scaling_policy()
        .service_namespace(aas::types::ServiceNamespace::Ecs)
        .scalable_dimension(aas::types::ScalableDimension::EcsServiceDesiredCount)
        .resource_id(id)
        .policy_name("cpu")
        .send()
        .await
        .expect("deleted outside");
    client
        .put_scheduled_action()
        .service_namespace(aas::types::ServiceNamespace::Ecs)
        .scalable_dimension(aas::types::ScalableDimension::EcsServiceDesiredCount)
        .resource_id(id)
        .scheduled_action_name("nightly")
        .schedule("cron(0 22 * * ? *)")
        .scalable_target_action(
            aas::types::ScalableTargetAction::builder()
                .min_capacity(1)
                .max_capacity(3)
                .build(),
        )
        .send()
        .await
        .expect("changed outside");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let names: Vec<String> = policies(&client, id)
            .await
            .iter()
            .map(|p| p.policy_name().to_owned())
            .collect();
        let max = actions(&client, id)
            .await
            .first()
            .and_then(|a| a.scalable_target_action())
            .and_then(|t| t.max_capacity());
        if names == ["cpu"] && max == Some(2) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never repaired: {names:?}, max {max:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The policy's target value changed outside: put back too.
    client
        .put_scaling_policy()
        .service_namespace(aas::types::ServiceNamespace::Ecs)
        .scalable_dimension(aas::types::ScalableDimension::EcsServiceDesiredCount)
        .resource_id(id)
        .policy_name("cpu")
        .policy_type(aas::types::PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(
            aas::types::TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(40.0)
                .predefined_metric_specification(
                    aas::types::PredefinedMetricSpecification::builder()
                        .predefined_metric_type(
                            aas::types::MetricType::EcsServiceAverageCpuUtilization,
                        )
                        .build()
                        .expect("metric"),
                )
                .build()
                .expect("configuration"),
        )
        .send()
        .await
        .expect("changed outside");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let target = policies(&client, id)
            .await
            .first()
            .and_then(|p| p.target_tracking_scaling_policy_configuration())
            .map(|c| c.target_value());
        if target == Some(70.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "target value never repaired: {target:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bed.stop_controllers().await;
}
