//! EcsService controller end to end: a real Kubernetes API server (or $E2E_KUBECONFIG) + the
//! operator's controllers + the AWS proxy with its ECS service model + moto.

use crate::common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_ecs as ecs;
use common::stack::{Bed, assert_contains, condition, ec2};
use ecs_operator::api::EcsService;
use ecs_operator::controller::service;
use ecs_operator::translate::tags;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn examples_become_ready_after_their_rollout_and_creates_carry_every_field() {
    let mut bed = Bed::start().await;
    bed.register_fargate("web-app", "nginx:1").await;
    bed.register("web-app-ec2", "nginx:1").await;
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
    tokio::task::block_in_place(|| {
        kubectl(&["apply", "-f", "examples/task-definitions/"]);
        kubectl(&["apply", "-f", "examples/services/"]);
    });
    let out = tokio::task::block_in_place(|| {
        kubectl(&[
            "wait",
            "--for=condition=Ready",
            "ecssvc",
            "--all",
            "--timeout=120s",
        ])
    });
    assert_eq!(out.matches("condition met").count(), 5, "{out}");

    let (objects, _) = ecs_operator::render::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"),
    )
    .expect("examples");
    let rendered = ecs_operator::render::render(&objects);
    let creates = bed.requests("CreateService");
    let names: Vec<&str> = creates
        .iter()
        .filter_map(|c| c["serviceName"].as_str())
        .collect();
    let trace: Vec<String> = bed
        .proxy
        .requests()
        .iter()
        .filter(|r| {
            matches!(
                r.operation.as_str(),
                "CreateService" | "DescribeServices" | "UpdateService"
            )
        })
        .map(|r| format!("{} {} {} {}", r.at_ms, r.operation, r.status, r.body))
        .collect();
    assert_eq!(
        creates.len(),
        5,
        "one CreateService per service: {names:?}\n{}",
        trace.join("\n")
    );
    for request in rendered
        .requests
        .iter()
        .filter(|r| r.operation == "CreateService")
    {
        let sent = creates
            .iter()
            .find(|c| c["serviceName"] == request.input["serviceName"])
            .unwrap_or_else(|| panic!("no CreateService for {}", request.name));
        let mut expected = request.input.clone();
        let map = expected.as_object_mut().expect("object");
        // Resolved to an ARN, completed with owner tags, and made idempotent: checked below.
        for key in ["taskDefinition", "tags", "desiredCount"] {
            map.remove(key);
        }
        assert_contains(sent, &expected, &request.name);
        assert!(sent["clientToken"].as_str().is_some_and(|t| t.len() <= 36));
        // A reference or a bare family is sent as the ARN it resolved to; family:revision as is.
        let sent_td = sent["taskDefinition"].as_str().unwrap_or_default();
        assert!(
            sent_td.starts_with("arn:aws:ecs:") || sent_td == request.input["taskDefinition"],
            "{sent_td}"
        );
        let object = bed.services().get(&request.name).await.expect("object");
        let status = object.status.expect("status");
        assert_eq!(
            status.rollout_state.as_deref(),
            Some("COMPLETED"),
            "{}: Ready only after the rollout",
            request.name
        );
        let service = bed
            .describe(
                "my-cluster",
                sent["serviceName"].as_str().unwrap_or_default(),
            )
            .await;
        let found: Vec<ecs_operator::api::common::Tag> = service
            .tags()
            .iter()
            .map(ecs_operator::aws::answers::tag)
            .collect();
        assert!(tags::is_owned_by(
            &found,
            &object.metadata.uid.clone().unwrap_or_default()
        ));
    }
    bed.stop_controllers().await;
}

#[tokio::test]
async fn a_new_task_definition_image_rolls_the_service_at_once() {
    let mut bed = Bed::start().await;
    bed.create_td("web", "nginx:1").await;
    bed.create_service("web", ec2(json!({"taskDefinitionRef": {"name": "web"}})))
        .await;
    let first = bed.wait_ready("web").await;
    bed.proxy.clear();
    let edited = Instant::now();
    bed.set_image("web", "nginx:2").await;
    bed.wait_td_ready("web", 2).await;
    let second = bed
        .wait_for("web", "on revision 2 and Ready", |o| {
            o.status.as_ref().and_then(|s| s.task_definition.as_deref()) == Some("web:2")
                && condition(o, "Ready").0 == "True"
        })
        .await;
    assert!(
        edited.elapsed() < Duration::from_secs(60),
        "no wait for the 300 s resync"
    );
    assert_ne!(
        first.status.and_then(|s| s.task_definition_arn),
        second
            .status
            .as_ref()
            .and_then(|s| s.task_definition_arn.clone())
    );
    assert_eq!(bed.requests("RegisterTaskDefinition").len(), 1);
    let updates = bed.requests("UpdateService");
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(
        updates[0],
        json!({"cluster": "prod", "service": "web", "taskDefinition": second.status.and_then(|s| s.task_definition_arn)})
    );
    bed.stop_controllers().await;
}

#[tokio::test]
async fn a_failing_image_is_rolled_back_stalls_and_is_not_sent_again() {
    let mut bed = Bed::start().await;
    bed.create_td("shop", "nginx:1").await;
    bed.create_service(
        "shop",
        ec2(json!({"taskDefinitionRef": {"name": "shop"},
                   "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true}}})),
    )
    .await;
    bed.wait_ready("shop").await;
    bed.set_image("shop", "nginx:broken").await;
    let stalled = bed
        .wait_for("shop", "Stalled RolledBack", |o| {
            condition(o, "Stalled")
                == (
                    "True".into(),
                    "RolledBack".into(),
                    condition(o, "Stalled").2,
                )
        })
        .await;
    assert_eq!(condition(&stalled, "Ready").0, "False");
    bed.wait_event("shop", |(t, r, _)| t == "Warning" && r == "RolledBack")
        .await;
    let updates = bed.requests("UpdateService").len();
    // Several more passes: the failed revision is not sent again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(bed.requests("UpdateService").len(), updates, "no loop");
    bed.set_image("shop", "nginx:3").await;
    bed.wait_for("shop", "Ready on the fixed image", |o| {
        condition(o, "Ready").0 == "True"
            && o.status.as_ref().and_then(|s| s.task_definition.as_deref()) == Some("shop:3")
    })
    .await;
    bed.stop_controllers().await;
}

#[tokio::test]
async fn updates_send_exactly_what_changed_with_ecs_rules() {
    let mut bed = Bed::start().await;
    bed.register("app", "nginx:1").await;
    bed.create_service(
        "placed",
        ec2(json!({"taskDefinition": "app:1",
                   "placementConstraints": [{"type": "distinctInstance"}],
                   "placementStrategy": [{"type": "binpack", "field": "memory"}]})),
    )
    .await;
    bed.wait_ready("placed").await;
    bed.proxy.clear();
    // Removing placement sends explicit empty lists.
    bed.services()
        .patch(
            "placed",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"placementConstraints": null, "placementStrategy": null}}),
            ),
        )
        .await
        .expect("patch");
    bed.wait_for("placed", "placement removed", |o| {
        o.status
            .as_ref()
            .and_then(|s| s.reconcile.observed_generation)
            == Some(2)
            && condition(o, "Ready").0 == "True"
    })
    .await;
    assert_eq!(
        bed.requests("UpdateService"),
        vec![
            json!({"cluster": "prod", "service": "placed", "placementConstraints": [], "placementStrategy": []})
        ]
    );
    // An EC2 capacity provider of the cluster's to switch to.
    bed.ecs
        .create_capacity_provider()
        .name("asg")
        .auto_scaling_group_provider(
            ecs::types::AutoScalingGroupProvider::builder()
                .auto_scaling_group_arn(
                    ecs_testbed::aws::query::auto_scaling_group(bed.proxy.url(), "asg-group")
                        .await
                        .expect("Auto Scaling group"),
                )
                .build()
                .expect("group"),
        )
        .send()
        .await
        .expect("provider");
    bed.ecs
        .put_cluster_capacity_providers()
        .cluster("prod")
        .capacity_providers("FARGATE")
        .capacity_providers("asg")
        .set_default_capacity_provider_strategy(Some(Vec::new()))
        .send()
        .await
        .expect("associated");
    bed.proxy.clear();
    // Launch type -> capacity provider strategy: forceNewDeployment with it.
    bed.services()
        .patch("placed", &PatchParams::default(), &Patch::Merge(json!({"spec": {"launchType": null, "capacityProviderStrategy": [{"capacityProvider": "asg", "weight": 1}]}})))
        .await
        .expect("patch");
    bed.wait_for("placed", "on capacity providers", |o| {
        o.status
            .as_ref()
            .and_then(|s| s.reconcile.observed_generation)
            == Some(3)
            && condition(o, "Ready").0 == "True"
    })
    .await;
    let updates = bed.requests("UpdateService");
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0]["forceNewDeployment"], json!(true));
    assert_eq!(
        updates[0]["capacityProviderStrategy"][0]["capacityProvider"],
        "asg"
    );
    // A launch type change ECS cannot make: Stalled, naming the field.
    bed.create_service("moving", ec2(json!({"taskDefinition": "app:1"})))
        .await;
    bed.wait_ready("moving").await;
    bed.services()
        .patch(
            "moving",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"launchType": "EXTERNAL"}})),
        )
        .await
        .expect("patch");
    let stalled = bed
        .wait_for("moving", "Stalled", |o| condition(o, "Stalled").0 == "True")
        .await;
    let (_, reason, message) = condition(&stalled, "Stalled");
    assert_eq!(reason, "ImmutableField");
    assert!(message.contains("spec.launchType"), "{message}");
    bed.stop_controllers().await;
}

#[tokio::test]
async fn a_literal_task_definition_costs_no_update_across_resyncs() {
    let mut bed = Bed::with_resync(Duration::from_millis(700)).await;
    bed.register("lit", "nginx:1").await;
    bed.create_service("by-family", ec2(json!({"taskDefinition": "lit"})))
        .await;
    bed.create_service("by-revision", ec2(json!({"taskDefinition": "lit:1"})))
        .await;
    bed.wait_ready("by-family").await;
    bed.wait_ready("by-revision").await;
    bed.proxy.clear();
    let ctx = bed.ctx.clone().expect("ctx");
    let before = ctx.metrics.passes("service", "ready");
    let deadline = Instant::now() + Duration::from_secs(60);
    while ctx.metrics.passes("service", "ready") < before + 6 {
        assert!(Instant::now() < deadline, "resyncs never happened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        bed.requests("UpdateService").is_empty(),
        "{:?}",
        bed.requests("UpdateService")
    );
    assert!(bed.requests("CreateService").is_empty());
    bed.stop_controllers().await;
}

#[tokio::test]
async fn the_desired_count_is_reverted_only_when_the_spec_owns_it() {
    let mut bed = Bed::with_resync(Duration::from_secs(1)).await;
    bed.register("count", "nginx:1").await;
    bed.create_service(
        "owned",
        ec2(json!({"taskDefinition": "count:1", "desiredCount": 2})),
    )
    .await;
    let mut open = ec2(json!({"taskDefinition": "count:1"}));
    open.as_object_mut().expect("object").remove("desiredCount");
    bed.create_service("open", open).await;
    bed.create_service(
        "scaled",
        ec2(json!({"taskDefinition": "count:1", "desiredCount": 2})),
    )
    .await;
    // An EcsScalingPolicy targets "scaled": its desired count belongs to the autoscaler.
    let policies: Api<ecs_operator::api::EcsScalingPolicy> =
        Api::namespaced(bed.client.clone(), bed.ns());
    policies
        .create(&PostParams::default(), &serde_json::from_value(json!({
            "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsScalingPolicy", "metadata": {"name": "scaled"},
            "spec": {"serviceRef": {"name": "scaled"}, "minCapacity": 1, "maxCapacity": 9}
        })).expect("policy"))
        .await
        .expect("policy created");
    for name in ["owned", "open", "scaled"] {
        bed.wait_ready(name).await;
    }
    assert_eq!(
        bed.describe("prod", "open").await.desired_count(),
        1,
        "created with 1"
    );
    for name in ["owned", "open", "scaled"] {
        bed.ecs
            .update_service()
            .cluster("prod")
            .service(name)
            .desired_count(5)
            .send()
            .await
            .expect("scaled out of band");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while !bed
        .requests("UpdateService")
        .iter()
        .any(|u| u["service"] == "owned" && u["desiredCount"] == 2)
    {
        assert!(Instant::now() < deadline, "never reverted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bed.wait_for("owned", "reverted", |o| {
        o.status.as_ref().and_then(|s| s.desired_count) == Some(2)
            && condition(o, "Ready").0 == "True"
    })
    .await;
    bed.wait_event("owned", |(t, r, _)| {
        t == "Warning" && r == "DesiredCountDrift"
    })
    .await;
    // Give the others a few resyncs: they keep 5.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(bed.describe("prod", "open").await.desired_count(), 5);
    assert_eq!(bed.describe("prod", "scaled").await.desired_count(), 5);
    let sent_counts: Vec<Value> = bed
        .requests("UpdateService")
        .into_iter()
        .filter(|u| {
            u["service"] != "owned" && u.get("desiredCount").is_some() && u["desiredCount"] != 5
        })
        .collect();
    assert!(sent_counts.is_empty(), "{sent_counts:?}");
    bed.stop_controllers().await;
}

#[tokio::test]
async fn a_hundred_settled_services_cost_at_most_ten_describes_per_resync_on_average() {
    let resync = Duration::from_secs(6);
    let mut bed = Bed::with_resync(resync).await;
    bed.register("many", "nginx:1").await;
    for i in 0..100 {
        bed.create_service(
            &format!("svc-{i}"),
            ec2(json!({"taskDefinition": "many:1", "desiredCount": 1})),
        )
        .await;
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let list = bed
            .services()
            .list(&ListParams::default())
            .await
            .expect("list");
        let ready = list
            .items
            .iter()
            .filter(|o| condition(o, "Ready").0 == "True")
            .count();
        if ready == 100 {
            break;
        }
        assert!(Instant::now() < deadline, "{ready} of 100 Ready");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Let the creation burst settle into the resync rhythm, then measure three full resyncs (the
    // edges of one window cut batches in half).
    tokio::time::sleep(resync.mul_f64(1.2)).await;
    let ctx = bed.ctx.clone().expect("ctx");
    bed.proxy.clear();
    let before = ctx.metrics.passes("service", "ready");
    let deadline = Instant::now() + Duration::from_secs(90);
    while ctx.metrics.passes("service", "ready") < before + 300 {
        assert!(Instant::now() < deadline, "the resyncs never came");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let calls: BTreeMap<String, usize> =
        bed.proxy
            .requests()
            .into_iter()
            .fold(BTreeMap::new(), |mut m, r| {
                *m.entry(r.operation).or_insert(0) += 1;
                m
            });
    let describes = calls.get("DescribeServices").copied().unwrap_or(0);
    eprintln!(
        "three resyncs of 100 settled services: {calls:?}; read-ahead (hits, misses) since start: {:?}",
        ctx.aws.ecs.read_ahead_stats()
    );
    assert!(describes <= 30, "three resyncs of 100 services: {calls:?}");
    assert!(
        calls.keys().all(|op| op == "DescribeServices"),
        "no writes: {calls:?}"
    );
    bed.stop_controllers().await;
}

#[tokio::test]
async fn adoption_needs_the_annotation_or_the_owner_tag() {
    let mut bed = Bed::start().await;
    let td = bed.register("legacy", "nginx:1").await;
    for name in ["legacy", "other"] {
        bed.ecs
            .create_service()
            .cluster("prod")
            .service_name(name)
            .task_definition(&td)
            .desired_count(1)
            .launch_type(ecs::types::LaunchType::Ec2)
            .send()
            .await
            .expect("created outside");
    }
    bed.proxy.clear();
    bed.create_service(
        "other",
        ec2(json!({"taskDefinition": "legacy:1", "desiredCount": 1})),
    )
    .await;
    let stalled = bed
        .wait_for("other", "Stalled", |o| condition(o, "Stalled").0 == "True")
        .await;
    assert_eq!(condition(&stalled, "Stalled").1, "AlreadyExists");
    bed.create_service_object(json!({
        "metadata": {"name": "legacy", "annotations": {"ecs.operator.dev/adopt": "true"}},
        "spec": ec2(json!({"taskDefinition": "legacy:1", "desiredCount": 1}))
    }))
    .await;
    let adopted = bed.wait_ready("legacy").await;
    assert!(
        bed.requests("CreateService")
            .iter()
            .all(|c| c["serviceName"] != "legacy"),
        "never created, only adopted"
    );
    let service = bed.describe("prod", "legacy").await;
    let found: Vec<ecs_operator::api::common::Tag> = service
        .tags()
        .iter()
        .map(ecs_operator::aws::answers::tag)
        .collect();
    assert!(tags::is_owned_by(
        &found,
        &adopted.metadata.uid.unwrap_or_default()
    ));
    bed.stop_controllers().await;
}

#[tokio::test]
async fn delete_drains_retain_keeps_and_a_draining_name_is_waited_for() {
    let mut bed = Bed::start().await;
    bed.register("life", "nginx:1").await;
    bed.create_service(
        "gone",
        ec2(json!({"taskDefinition": "life:1", "serviceName": "shared"})),
    )
    .await;
    bed.create_service(
        "kept",
        ec2(json!({"taskDefinition": "life:1", "deletionPolicy": "Retain"})),
    )
    .await;
    bed.wait_ready("gone").await;
    bed.wait_ready("kept").await;
    for name in ["gone", "kept"] {
        bed.services()
            .delete(name, &DeleteParams::default())
            .await
            .expect("delete");
    }
    // A new object for the same ECS name while the old service drains: it waits, then creates.
    bed.create_service(
        "again",
        ec2(json!({"taskDefinition": "life:1", "serviceName": "shared"})),
    )
    .await;
    for name in ["gone", "kept"] {
        let deadline = Instant::now() + Duration::from_secs(60);
        while bed.services().get(name).await.is_ok() {
            assert!(Instant::now() < deadline, "{name} never went away");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(bed.describe("prod", "kept").await.status(), Some("ACTIVE"));
    let again = bed.wait_ready("again").await;
    assert_eq!(
        bed.describe("prod", "shared").await.status(),
        Some("ACTIVE")
    );
    assert_ne!(again.status.and_then(|s| s.service_arn), None);
    // The new object's first pass creates without looking (nothing of its own can exist):
    // ECS refuses while the namesake drains, and the passes after it wait for INACTIVE.
    let creates: Vec<(u16, Value)> = bed
        .proxy
        .requests()
        .into_iter()
        .filter(|r| r.operation == "CreateService" && r.body["serviceName"] == "shared")
        .map(|r| (r.status, r.body))
        .collect();
    let accepted = creates.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(
        accepted, 2,
        "the first, and the second once the first was INACTIVE: {creates:?}"
    );
    assert!(
        creates.len() <= 3,
        "at most the first pass's refused: {creates:?}"
    );
    bed.stop_controllers().await;
}

#[tokio::test]
async fn a_missing_task_definition_reference_waits_with_its_name() {
    let mut bed = Bed::start().await;
    bed.create_service(
        "waiting",
        ec2(json!({"taskDefinitionRef": {"name": "later"}})),
    )
    .await;
    let waiting = bed
        .wait_for("waiting", "waiting for its reference", |o| {
            condition(o, "Reconciling").1 == "TaskDefinitionNotFound"
        })
        .await;
    assert!(condition(&waiting, "Reconciling").2.contains("later"));
    assert!(bed.requests("CreateService").is_empty());
    // The condition says so at once; the Event only once the wait has lasted (the bed's
    // `wait_event_after`, 2 s), and once however many passes poll meanwhile.
    bed.wait_event("waiting", |(_, reason, _)| {
        reason == "TaskDefinitionNotFound"
    })
    .await;
    let began = waiting
        .status
        .as_ref()
        .and_then(|s| {
            s.reconcile
                .conditions
                .iter()
                .find(|c| c.type_ == "Reconciling")
        })
        .map(|c| c.last_transition_time.0)
        .expect("the wait's condition");
    let told: Vec<_> = common::event_objects_of(&bed.client, bed.ns(), "waiting")
        .await
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("TaskDefinitionNotFound"))
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    let at = told[0].event_time.as_ref().expect("eventTime").0;
    assert!(
        at.duration_since(began) >= k8s_openapi::jiff::SignedDuration::from_secs(2),
        "told at {at}, the wait began at {began}"
    );
    assert!(told[0].series.is_none(), "told once: {:?}", told[0].series);
    bed.create_td("later", "nginx:1").await;
    bed.wait_ready("waiting").await;
    bed.stop_controllers().await;
}

#[tokio::test]
async fn ecs_service_events_become_kubernetes_events() {
    let mut bed = Bed::start().await;
    bed.register("ev", "nginx:1").await;
    bed.register("ev-broken", "nginx:broken").await;
    bed.create_service("ok", ec2(json!({"taskDefinition": "ev:1"})))
        .await;
    bed.create_service("bad", ec2(json!({"taskDefinition": "ev-broken:1"})))
        .await;
    bed.wait_ready("ok").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ok = bed.events("ok").await;
        let bad = bed.events("bad").await;
        let started = bad.iter().any(|(t, r, n)| {
            t == "Normal" && r == "ServiceEvent" && n.starts_with("(service bad) has started")
        });
        let failing = bad.iter().any(|(t, r, n)| {
            t == "Warning"
                && r == "ServiceEvent"
                && n.contains("is unable to consistently start tasks")
        });
        let steady_in_ecs = bed.describe("prod", "ok").await.events().iter().any(|e| {
            e.message()
                .is_some_and(|m| m.ends_with("has reached a steady state."))
        });
        if started && failing && steady_in_ecs {
            // ECS's routine "has reached a steady state" is the Ready condition's news, and
            // is not mirrored (ECS repeats it every few hours).
            bed.wait_ready("ok").await;
            let ok = bed.events("ok").await;
            assert!(
                ok.iter().all(|(_, _, n)| !n.contains("steady state")),
                "{ok:?}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "{ok:?} {bad:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bed.stop_controllers().await;
}

#[tokio::test]
async fn an_operator_stopped_right_after_create_service_makes_no_second_service() {
    // On the emulator: its knob makes every write of the object fail from the start, as a crash
    // between CreateService and the status write would. The object carries the finalizer
    // already (an earlier pass added it), so the create is sent with the token of the object's
    // UID and generation and nothing is recorded.
    let mut bed = Bed::with(common::emulator_cluster().await, Duration::from_secs(300)).await;
    bed.register("once", "nginx:1").await;
    let mut object: EcsService = serde_json::from_value(json!({
        "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsService", "metadata": {"name": "once"},
        "spec": ec2(json!({"taskDefinition": "once:1"}))
    }))
    .expect("object");
    object.metadata.finalizers = Some(vec![service::FINALIZER.to_owned()]);
    let url = bed.cluster.emulator_url().expect("emulator");
    let (status, _) = ecs_testbed::http::send(
        &ecs_testbed::http::client(),
        "POST",
        &format!("{url}/_emulator/fail"),
        &[],
        json!({"verb": "patch", "resource": "ecsservices", "status": 500, "count": 1_000_000})
            .to_string()
            .into(),
    )
    .await
    .expect("knob");
    assert_eq!(status, 200);
    let created = bed
        .services()
        .create(&PostParams::default(), &object)
        .await
        .expect("created");
    let deadline = Instant::now() + Duration::from_secs(30);
    while bed.requests("CreateService").is_empty() {
        assert!(Instant::now() < deadline, "never created");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bed.stop_controllers().await;
    let (status, _) = ecs_testbed::http::send(
        &ecs_testbed::http::client(),
        "DELETE",
        &format!("{url}/_emulator/fail"),
        &[],
        bytes::Bytes::new(),
    )
    .await
    .expect("knob");
    assert_eq!(status, 200);
    assert!(
        bed.services()
            .get("once")
            .await
            .expect("object")
            .status
            .and_then(|s| s.service_arn)
            .is_none(),
        "nothing recorded"
    );
    bed.start_controllers().await;
    let ready = bed.wait_ready("once").await;
    let creates = bed.requests("CreateService");
    assert_eq!(creates.len(), 1, "{creates:?}");
    let token = service::client_token(
        &created.metadata.uid.clone().expect("uid"),
        created.metadata.generation.expect("generation"),
    );
    assert_eq!(creates[0]["clientToken"], token.as_str());
    assert_ne!(ready.status.and_then(|s| s.service_arn), None);
    bed.stop_controllers().await;
}

/// A failed UpdateService (a 5xx past the retries, a throttle past the retries, a terminal
/// refusal lifted later) is never recorded as applied: the next pass sends it again, and the
/// object is Ready only once ECS holds the new values.
#[tokio::test]
async fn a_failed_update_is_sent_again_until_ecs_holds_it() {
    use ecs_testbed::aws::proxy::{Fault, FaultRule};
    let mut bed = Bed::with_resync(Duration::from_millis(1500)).await;
    bed.register("app", "nginx:1").await;
    bed.create_service("retried", ec2(json!({"taskDefinition": "app:1"})))
        .await;
    bed.wait_ready("retried").await;
    // The operator tries each call twice (AwsSettings::max_attempts in the test stack).
    let rounds = [
        (Fault::InternalError, 2),
        (Fault::Throttle, 2),
        (
            Fault::AwsError {
                status: 400,
                code: "AccessDeniedException".into(),
                message: "User is not authorized to perform: iam:PassRole".into(),
            },
            1,
        ),
    ];
    for (round, (fault, times)) in rounds.into_iter().enumerate() {
        let token = format!("token-{round}");
        // Each round changes the value ECS holds (the model reports ENABLED for a new service).
        let rebalancing = if round % 2 == 0 {
            "DISABLED"
        } else {
            "ENABLED"
        };
        bed.proxy.clear();
        bed.proxy.set_faults(vec![FaultRule {
            operation: "ecs:UpdateService".into(),
            probability: None,
            every_nth: None,
            max_times: Some(times),
            fault: fault.clone(),
        }]);
        let generation = bed
            .services()
            .patch(
                "retried",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {
                    "forceNewDeployment": token,
                    "availabilityZoneRebalancing": rebalancing,
                }})),
            )
            .await
            .expect("patch")
            .metadata
            .generation;
        let ready = bed
            .wait_for("retried", "the update applied after its failure", |o| {
                let status = o.status.as_ref();
                status.and_then(|s| s.reconcile.observed_generation) == generation
                    && condition(o, "Ready").0 == "True"
            })
            .await;
        let updates: Vec<_> = bed
            .proxy
            .requests()
            .into_iter()
            .filter(|r| r.operation == "UpdateService")
            .collect();
        let failed = updates.iter().filter(|r| r.status != 200).count();
        let accepted: Vec<_> = updates.iter().filter(|r| r.status == 200).collect();
        assert_eq!(
            u64::try_from(failed).expect("count"),
            times,
            "{fault:?}: {updates:?}"
        );
        assert_eq!(
            accepted.len(),
            1,
            "{fault:?}: sent again once after the failure: {updates:?}"
        );
        assert_eq!(accepted[0].body["forceNewDeployment"], json!(true));
        assert_eq!(accepted[0].body["availabilityZoneRebalancing"], rebalancing);
        assert_eq!(
            ready
                .status
                .as_ref()
                .and_then(|s| s.applied_force_new_deployment.as_deref()),
            Some(token.as_str())
        );
        let service = bed.describe("prod", "retried").await;
        assert_eq!(
            service
                .availability_zone_rebalancing()
                .map(|r| r.as_str().to_owned()),
            Some(rebalancing.to_owned()),
            "{fault:?}: ECS holds the new value"
        );
    }
    bed.stop_controllers().await;
}

/// ServiceNotFoundException on UpdateService means the service went away since it was observed:
/// the operator observes again at once (here: finds it after all, the answer was a fault) instead
/// of stalling until the resync (300 s in this bed, beyond the wait's 90 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_not_found_on_update_is_observed_again_at_once() {
    let mut bed = Bed::start().await;
    bed.register("app", "nginx:1").await;
    bed.create_service("vanishing", ec2(json!({"taskDefinition": "app:1"})))
        .await;
    bed.wait_ready("vanishing").await;
    bed.proxy.clear();
    bed.refuse_once(
        "ecs:UpdateService",
        400,
        "ServiceNotFoundException",
        "Service not found.",
    );
    let generation = bed
        .services()
        .patch(
            "vanishing",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"desiredCount": 3}})),
        )
        .await
        .expect("patch")
        .metadata
        .generation;
    bed.wait_for("vanishing", "Ready after the second UpdateService", |o| {
        o.status
            .as_ref()
            .and_then(|s| s.reconcile.observed_generation)
            == generation
            && condition(o, "Ready").0 == "True"
            && o.status.as_ref().and_then(|s| s.desired_count) == Some(3)
    })
    .await;
    let updates: Vec<u16> = bed
        .proxy
        .requests()
        .into_iter()
        .filter(|r| r.operation == "UpdateService")
        .map(|r| r.status)
        .collect();
    assert_eq!(updates, [400, 200], "one refused, one sent again at once");
    bed.stop_controllers().await;
}

/// Two CreateService refusals that pass without any change to the spec (the service-linked role
/// of a new account not yet usable, a target group whose listener rule is still being created)
/// are waited out with the AWS text in the condition, not stalled until the resync (300 s here,
/// beyond the wait's 90 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_that_pass_by_themselves_are_waited_out() {
    let mut bed = Bed::start().await;
    bed.register("app", "nginx:1").await;
    let refusals = [
        "Unable to assume the service linked role. Please verify that the ECS service linked role exists.",
        "The target group with targetGroupArn arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/97c0 does not have an associated load balancer.",
    ];
    for (i, message) in refusals.into_iter().enumerate() {
        let name = format!("waits-{i}");
        bed.proxy.clear();
        bed.refuse_once(
            "ecs:CreateService",
            400,
            "InvalidParameterException",
            message,
        );
        bed.create_service(&name, ec2(json!({"taskDefinition": "app:1"})))
            .await;
        let waiting = bed
            .wait_for(&name, "Reconciling with the AWS text", |o| {
                let (status, reason, text) = condition(o, "Reconciling");
                status == "True" && reason == "AwsPending" && text.contains(message)
            })
            .await;
        assert_ne!(condition(&waiting, "Stalled").0, "True");
        bed.wait_ready(&name).await;
        let creates: Vec<u16> = bed
            .proxy
            .requests()
            .into_iter()
            .filter(|r| r.operation == "CreateService")
            .map(|r| r.status)
            .collect();
        assert_eq!(creates, [400, 200], "{message}");
    }
    bed.stop_controllers().await;
}

/// A rolling service's deploymentConfiguration update carries the rolling members only: no bake
/// time or lifecycle hooks, which belong to BLUE_GREEN / LINEAR / CANARY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_update_sends_no_traffic_shift_members() {
    let mut bed = Bed::start().await;
    bed.register("app", "nginx:1").await;
    bed.create_service("rolling", ec2(json!({"taskDefinition": "app:1"})))
        .await;
    bed.wait_ready("rolling").await;
    bed.proxy.clear();
    let generation = bed
        .services()
        .patch(
            "rolling",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"deploymentConfiguration": {"maximumPercent": 150}}})),
        )
        .await
        .expect("patch")
        .metadata
        .generation;
    bed.wait_for("rolling", "Ready at the new generation", |o| {
        o.status
            .as_ref()
            .and_then(|s| s.reconcile.observed_generation)
            == generation
            && condition(o, "Ready").0 == "True"
    })
    .await;
    let updates = bed.requests("UpdateService");
    assert_eq!(updates.len(), 1, "{updates:?}");
    let sent = &updates[0]["deploymentConfiguration"];
    assert_eq!(sent["maximumPercent"], json!(150));
    assert!(
        sent.get("bakeTimeInMinutes").is_none() && sent.get("lifecycleHooks").is_none(),
        "{sent}"
    );
    let held = bed.describe("prod", "rolling").await;
    assert_eq!(
        held.deployment_configuration()
            .and_then(|c| c.maximum_percent()),
        Some(150)
    );
    bed.stop_controllers().await;
}

/// The adopt annotation does not take a service another live EcsService manages: Stalled,
/// OwnedByAnother, naming it. Once that object is gone (deleted with Retain), the adoption goes
/// through and the owner tags name the new owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adoption_refuses_a_service_another_live_object_owns() {
    let mut bed = Bed::start().await;
    bed.register("app", "nginx:1").await;
    bed.create_service(
        "first",
        ec2(json!({"taskDefinition": "app:1", "serviceName": "contested", "deletionPolicy": "Retain"})),
    )
    .await;
    bed.wait_ready("first").await;
    bed.create_service_object(json!({
        "metadata": {"name": "second", "annotations": {"ecs.operator.dev/adopt": "true"}},
        "spec": ec2(json!({"taskDefinition": "app:1", "serviceName": "contested", "desiredCount": 3}))
    }))
    .await;
    let stalled = bed
        .wait_for("second", "Stalled", |o| condition(o, "Stalled").0 == "True")
        .await;
    let (_, reason, message) = condition(&stalled, "Stalled");
    assert_eq!(reason, "OwnedByAnother");
    let first = format!("{}/first", bed.ns());
    assert!(message.contains(&first), "{message}");
    assert!(
        bed.requests("UpdateService").is_empty() && bed.requests("TagResource").is_empty(),
        "nothing written to the other object's service"
    );
    bed.services()
        .delete("first", &DeleteParams::default())
        .await
        .expect("delete");
    bed.wait_for_gone("first").await;
    // The refusal is retried at the resync (300 s in this bed); a spec change starts a pass now.
    bed.services()
        .patch(
            "second",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"desiredCount": 2}})),
        )
        .await
        .expect("patch");
    let adopted = bed.wait_ready("second").await;
    let service = bed.describe("prod", "contested").await;
    let found: Vec<ecs_operator::api::common::Tag> = service
        .tags()
        .iter()
        .map(ecs_operator::aws::answers::tag)
        .collect();
    assert!(tags::is_owned_by(
        &found,
        &adopted.metadata.uid.unwrap_or_default()
    ));
    assert_eq!(service.desired_count(), 2);
    bed.stop_controllers().await;
}

/// Deleting an EcsTaskDefinition keeps the revision a live EcsService runs registered (the
/// deletion waits, saying which service), and deregisters it once the service moved off it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_task_definition_keeps_the_revision_a_service_runs() {
    use ecs_operator::api::EcsTaskDefinition;
    let mut bed = Bed::with_resync(Duration::from_secs(20)).await;
    bed.create_td("kept", "nginx:1").await;
    bed.create_service("user", ec2(json!({"taskDefinitionRef": {"name": "kept"}})))
        .await;
    let running = bed
        .wait_ready("user")
        .await
        .status
        .and_then(|s| s.task_definition_arn)
        .expect("revision");
    bed.tds()
        .delete("kept", &DeleteParams::default())
        .await
        .expect("delete");
    let waiting = {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let td: EcsTaskDefinition = bed.tds().get("kept").await.expect("still there");
            let reconciling = td.status.as_ref().and_then(|s| {
                s.reconcile
                    .conditions
                    .iter()
                    .find(|c| c.type_ == "Reconciling" && c.status == "True")
                    .map(|c| (c.reason.clone(), c.message.clone()))
            });
            if let Some((reason, message)) = reconciling
                && reason == "RevisionInUse"
            {
                break message;
            }
            assert!(Instant::now() < deadline, "never waiting: {:?}", td.status);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    assert!(waiting.contains(&format!("{}/user", bed.ns())), "{waiting}");
    assert!(bed.requests("DeregisterTaskDefinition").is_empty());
    let described = bed
        .ecs
        .describe_task_definition()
        .task_definition(&running)
        .send()
        .await
        .expect("describe");
    assert_eq!(
        described.task_definition().and_then(|t| t.status()),
        Some(&ecs::types::TaskDefinitionStatus::Active)
    );
    // The service moves to another task definition: the deletion completes.
    bed.register("other", "nginx:2").await;
    bed.services()
        .patch(
            "user",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"taskDefinitionRef": null, "taskDefinition": "other:1"}}),
            ),
        )
        .await
        .expect("move");
    bed.wait_for("user", "on other:1", |o| {
        o.status.as_ref().and_then(|s| s.task_definition.as_deref()) == Some("other:1")
            && condition(o, "Ready").0 == "True"
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while bed.tds().get_opt("kept").await.expect("read").is_some() {
        assert!(Instant::now() < deadline, "the deletion never completed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let deregistered: Vec<Value> = bed.requests("DeregisterTaskDefinition");
    assert_eq!(deregistered, [json!({"taskDefinition": running})]);
    bed.stop_controllers().await;
}

/// The operator is down while the circuit breaker rolls a failing revision back; started again
/// after the rollback is over (nothing in DescribeServices says rollback any more), it reads the
/// service deployment its UpdateService started, finds it ROLLBACK_SUCCESSFUL, and stalls with
/// RolledBack instead of sending the failing revision again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_finished_while_the_operator_was_down_is_not_deployed_again() {
    let mut bed = Bed::start().await;
    bed.register("fx", "nginx:1").await;
    bed.create_service(
        "phoenix",
        ec2(json!({"taskDefinition": "fx:1",
                   "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true}}})),
    )
    .await;
    bed.wait_ready("phoenix").await;
    let broken = bed.register("fx", "nginx:broken").await;
    bed.services()
        .patch(
            "phoenix",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"taskDefinition": "fx:2"}})),
        )
        .await
        .expect("patch");
    let sent = bed
        .wait_for("phoenix", "the update recorded", |o| {
            o.status
                .as_ref()
                .is_some_and(|s| s.service_deployment_arn.is_some())
        })
        .await;
    bed.stop_controllers().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let service = bed.describe("prod", "phoenix").await;
        let primary = service.deployments().first().cloned().expect("deployment");
        if primary.task_definition() != Some(broken.as_str())
            && primary.rollout_state() == Some(&ecs::types::DeploymentRolloutState::Completed)
        {
            break;
        }
        assert!(Instant::now() < deadline, "never rolled back: {service:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bed.proxy.clear();
    bed.start_controllers().await;
    let stalled = bed
        .wait_for("phoenix", "Stalled RolledBack", |o| {
            let (status, reason, _) = condition(o, "Stalled");
            status == "True" && reason == "RolledBack"
        })
        .await;
    assert_eq!(
        stalled
            .status
            .as_ref()
            .and_then(|s| s.failed_task_definition_arn.as_deref()),
        sent.status
            .as_ref()
            .and_then(|s| s.desired_task_definition_arn.as_deref())
    );
    assert!(
        bed.requests("UpdateService").is_empty(),
        "the failing revision is not sent again"
    );
    assert!(!bed.requests("ListServiceDeployments").is_empty());
    bed.stop_controllers().await;
}

/// An EXTERNAL EcsService is created with no task definition or launch type, is Ready with no
/// task sets, and reports the task sets its deployer creates: Progressing while one stabilizes,
/// Ready once all are steady. No UpdateService ever names a task definition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_service_is_created_bare_and_reports_its_task_sets() {
    let mut bed = Bed::with_resync(Duration::from_secs(2)).await;
    let td = bed.register("ext", "nginx:1").await;
    bed.create_service(
        "external",
        json!({"cluster": "prod", "desiredCount": 2, "deploymentController": {"type": "EXTERNAL"}}),
    )
    .await;
    bed.wait_ready("external").await;
    let creates = bed.requests("CreateService");
    assert_eq!(creates.len(), 1);
    assert!(
        creates[0].get("taskDefinition").is_none() && creates[0].get("launchType").is_none(),
        "{}",
        creates[0]
    );
    // The deployer's task set.
    let set = bed
        .ecs
        .create_task_set()
        .cluster("prod")
        .service("external")
        .task_definition(&td)
        .external_id("blue")
        .launch_type(ecs::types::LaunchType::Ec2)
        .load_balancers(
            ecs::types::LoadBalancer::builder()
                .target_group_arn(
                    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/1",
                )
                .container_name("app")
                .container_port(80)
                .build(),
        )
        .send()
        .await
        .expect("task set")
        .task_set()
        .and_then(|t| t.id())
        .expect("id")
        .to_owned();
    // Primary: DescribeServices now reports its launch type and load balancers at the service
    // level, which the operator must not take for drift of its own spec.
    bed.ecs
        .update_service_primary_task_set()
        .cluster("prod")
        .service("external")
        .primary_task_set(&set)
        .send()
        .await
        .expect("primary");
    let ready = bed
        .wait_for("external", "Ready with its steady task set", |o| {
            let sets = o
                .status
                .as_ref()
                .map(|s| s.task_sets.clone())
                .unwrap_or_default();
            condition(o, "Ready").0 == "True"
                && sets.len() == 1
                && sets[0].stability_status.as_deref() == Some("STEADY_STATE")
        })
        .await;
    let status = ready.status.expect("status");
    assert_eq!(status.task_sets[0].id, set);
    assert_eq!(
        status.task_sets[0].task_definition.as_deref(),
        Some("ext:1")
    );
    assert_eq!(status.task_sets[0].running_count, 2);
    assert_eq!(status.task_definition, None);
    // Later passes (resync 2 s) see the primary task set's members and leave them alone.
    let reads = bed.requests("DescribeServices").len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while bed.requests("DescribeServices").len() < reads + 2 {
        assert!(Instant::now() < deadline, "never looked at again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let settled = bed.services().get("external").await.expect("object");
    assert_eq!(condition(&settled, "Ready").0, "True");
    assert!(
        bed.requests("UpdateService").is_empty(),
        "nothing of the task sets is sent: {:?}",
        bed.requests("UpdateService")
    );
    bed.stop_controllers().await;
}

/// DescribeServices is eventually consistent: a service CreateService just made may be MISSING
/// for a while. The operator waits for it (WaitingForService) instead of creating it again, even
/// when the spec changes meanwhile (a second CreateService would then be "not idempotent").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_not_listed_yet_after_its_creation_is_waited_for() {
    let mut bed = Bed::start().await;
    bed.proxy
        .model()
        .expect("model")
        .set_knobs(ecs_testbed::aws::ecs_model::KnobsPatch {
            unlisted_seconds: Some(4.0),
            ..Default::default()
        });
    bed.register("app", "nginx:1").await;
    bed.create_service("late", ec2(json!({"taskDefinition": "app:1"})))
        .await;
    bed.wait_for("late", "waiting for ECS to list it", |o| {
        condition(o, "Reconciling").1 == "WaitingForService"
    })
    .await;
    let generation = bed
        .services()
        .patch(
            "late",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"desiredCount": 3}})),
        )
        .await
        .expect("patch")
        .metadata
        .generation;
    let ready = bed
        .wait_for("late", "Ready with the new count", |o| {
            o.status
                .as_ref()
                .and_then(|s| s.reconcile.observed_generation)
                == generation
                && condition(o, "Ready").0 == "True"
        })
        .await;
    assert_eq!(ready.status.and_then(|s| s.desired_count), Some(3));
    assert_eq!(
        bed.requests("CreateService").len(),
        1,
        "created once, waited for, then updated"
    );
    assert_eq!(bed.requests("UpdateService").len(), 1);
    bed.stop_controllers().await;
}

#[tokio::test]
async fn a_first_pass_create_whose_answer_is_lost_makes_one_service() {
    // The pass that adds the finalizer creates without a describe first; ECS makes the service
    // but its answer never arrives. The next pass (not a first one) looks, and finds it or sends
    // the same token again: one service either way.
    let mut bed = Bed::start().await;
    bed.register("lost", "nginx:1").await;
    bed.proxy
        .set_faults(vec![ecs_testbed::aws::proxy::FaultRule {
            operation: "ecs:CreateService".into(),
            probability: None,
            every_nth: None,
            max_times: Some(1),
            fault: ecs_testbed::aws::proxy::Fault::DropResponse,
        }]);
    bed.create_service("lost", ec2(json!({"taskDefinition": "lost:1"})))
        .await;
    let ready = bed.wait_ready("lost").await;
    let records: Vec<_> = bed
        .proxy
        .requests()
        .into_iter()
        .filter(|r| r.operation.ends_with("Services") || r.operation == "CreateService")
        .map(|r| (r.operation, r.fault.is_some()))
        .collect();
    assert_eq!(
        records.first(),
        Some(&("CreateService".to_owned(), true)),
        "created before any describe, the answer lost: {records:?}"
    );
    let tokens: Vec<Value> = bed
        .requests("CreateService")
        .into_iter()
        .map(|c| c["clientToken"].clone())
        .collect();
    assert!(
        tokens.iter().all(|t| *t == tokens[0]),
        "one token: {tokens:?}"
    );
    let listed = bed
        .ecs
        .list_services()
        .cluster("prod")
        .send()
        .await
        .expect("listed");
    let ours: Vec<&String> = listed
        .service_arns()
        .iter()
        .filter(|a| a.ends_with("/lost"))
        .collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(
        ready.status.and_then(|s| s.service_arn).as_deref(),
        ours.first().map(|a| a.as_str())
    );
    bed.stop_controllers().await;
}
