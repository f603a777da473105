//! EcsCluster and EcsTask controllers end to end: a real Kubernetes API server (or
//! $E2E_KUBECONFIG) + the operator's controllers + the AWS proxy with its ECS model + moto.

use crate::common;

use std::fmt::Debug;
use std::time::{Duration, Instant};

use common::stack::Bed;
use ecs_operator::api::{EcsCapacityProvider, EcsCluster, EcsTask};
use ecs_operator::controller::runner::Managed;
use ecs_testbed::aws::ecs_model::KnobsPatch;
use ecs_testbed::{ImageOutcome, TaskOutcome};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn clusters(bed: &Bed) -> Api<EcsCluster> {
    Api::namespaced(bed.client.clone(), bed.ns())
}

fn providers(bed: &Bed) -> Api<EcsCapacityProvider> {
    Api::namespaced(bed.client.clone(), bed.ns())
}

fn tasks(bed: &Bed) -> Api<EcsTask> {
    Api::namespaced(bed.client.clone(), bed.ns())
}

async fn create<K>(api: &Api<K>, kind: &str, name: &str, spec: Value) -> K
where
    K: kube::Resource + Clone + DeserializeOwned + serde::Serialize + Debug,
{
    let object: K = serde_json::from_value(json!({
        "apiVersion": "ecs.operator.dev/v1alpha1", "kind": kind,
        "metadata": {"name": name}, "spec": spec
    }))
    .expect("object");
    api.create(&PostParams::default(), &object)
        .await
        .expect("created")
}

/// (status, reason, message) of condition `type_`.
fn condition<K: Managed>(object: &K, type_: &str) -> (String, String, String) {
    let mut status = object.status().cloned().unwrap_or_default();
    K::reconcile_status(&mut status)
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
        .unwrap_or_default()
}

async fn wait<K>(api: &Api<K>, name: &str, what: &str, check: impl Fn(&K) -> bool) -> K
where
    K: Managed + Clone + DeserializeOwned + Debug,
{
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match api.get_opt(name).await.expect("read") {
            Some(object) if check(&object) => return object,
            Some(object) => assert!(
                Instant::now() < deadline,
                "{name}: never {what}: {:#?}",
                object.status()
            ),
            None => assert!(Instant::now() < deadline, "{name}: never {what}: missing"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_gone<K>(api: &Api<K>, name: &str)
where
    K: Managed + Clone + DeserializeOwned + Debug,
{
    let deadline = Instant::now() + Duration::from_secs(90);
    while let Some(object) = api.get_opt(name).await.expect("read") {
        assert!(
            Instant::now() < deadline,
            "{name}: never deleted: {:#?}",
            object.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ready<K: Managed>(object: &K) -> bool {
    condition(object, "Ready").0 == "True"
}

fn stalled<K: Managed>(object: &K, reason: &str) -> bool {
    let (status, found, _) = condition(object, "Stalled");
    status == "True" && found == reason
}

async fn describe_cluster(bed: &Bed, name: &str) -> Option<aws_sdk_ecs::types::Cluster> {
    bed.ecs
        .describe_clusters()
        .clusters(name)
        .include(aws_sdk_ecs::types::ClusterField::Settings)
        .send()
        .await
        .expect("described")
        .clusters()
        .first()
        .filter(|c| c.status() == Some("ACTIVE"))
        .cloned()
}

fn insights(cluster: &aws_sdk_ecs::types::Cluster) -> Option<String> {
    cluster
        .settings()
        .iter()
        .find(|s| s.name().map(|n| n.as_str()) == Some("containerInsights"))
        .and_then(|s| s.value().map(str::to_owned))
}

fn fargate_task(bed: &Bed, extra: Value) -> Value {
    let mut spec = json!({
        "cluster": "prod",
        "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": [subnet(bed)]}},
    });
    if let (Some(spec), Value::Object(extra)) = (spec.as_object_mut(), extra) {
        spec.extend(extra);
    }
    spec
}

fn subnet(_bed: &Bed) -> String {
    "subnet-12345".to_owned()
}

#[tokio::test]
async fn a_cluster_is_created_updated_refused_deletion_while_in_use_and_then_deleted() {
    let bed = Bed::start().await;
    let api = clusters(&bed);
    create(
        &api,
        "EcsCluster",
        "platform",
        json!({
            "settings": {"containerInsights": "enhanced"},
            "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
            "defaultCapacityProviderStrategy": [
                {"capacityProvider": "FARGATE", "weight": 1, "base": 2},
                {"capacityProvider": "FARGATE_SPOT", "weight": 4}
            ],
            "tags": [{"key": "team", "value": "platform"}]
        }),
    )
    .await;
    let object = wait(&api, "platform", "Ready", ready).await;
    let status = object.status.clone().expect("status");
    assert_eq!(status.status.as_deref(), Some("ACTIVE"));
    assert!(
        status
            .cluster_arn
            .is_some_and(|a| a.ends_with(":cluster/platform"))
    );
    let created = describe_cluster(&bed, "platform").await.expect("in ECS");
    assert_eq!(insights(&created).as_deref(), Some("enhanced"));
    assert_eq!(created.capacity_providers(), ["FARGATE", "FARGATE_SPOT"]);
    assert_eq!(
        bed.proxy.count("CreateCluster"),
        3,
        "two by the bed, one by the operator"
    );

    // An update the first attempt of which fails (500): it is sent again and lands.
    bed.refuse_once("ecs:UpdateCluster", 500, "ServerException", "try again");
    api.patch(
        "platform",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {
            "settings": {"containerInsights": "disabled"},
            "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
        }})),
    )
    .await
    .expect("patched");
    wait(&api, "platform", "Ready at generation 2", |o| {
        ready(o)
            && o.status
                .as_ref()
                .and_then(|s| s.reconcile.observed_generation)
                == Some(2)
    })
    .await;
    let updated = describe_cluster(&bed, "platform").await.expect("in ECS");
    assert_eq!(insights(&updated).as_deref(), Some("disabled"));
    let strategy = updated.default_capacity_provider_strategy();
    assert_eq!(strategy.len(), 1);
    assert_eq!(strategy[0].capacity_provider(), "FARGATE_SPOT");
    let updates = bed.requests("UpdateCluster");
    assert!(
        updates.len() >= 2,
        "the failed update was sent again: {updates:?}"
    );
    assert!(
        updates.iter().all(|u| u.get("configuration").is_none()),
        "only the changed group is sent: {updates:?}"
    );

    // Drift made outside the operator is reverted at the next pass.
    bed.ecs
        .put_cluster_capacity_providers()
        .cluster("platform")
        .capacity_providers("FARGATE")
        .set_default_capacity_provider_strategy(Some(vec![]))
        .send()
        .await
        .expect("drifted");

    api.patch(
        "platform",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"tags": [{"key": "team", "value": "core"}]}})),
    )
    .await
    .expect("patched");
    wait(&api, "platform", "Ready at generation 3", |o| {
        ready(o)
            && o.status
                .as_ref()
                .and_then(|s| s.reconcile.observed_generation)
                == Some(3)
    })
    .await;
    let reverted = describe_cluster(&bed, "platform").await.expect("in ECS");
    assert_eq!(reverted.capacity_providers(), ["FARGATE", "FARGATE_SPOT"]);
    assert_eq!(
        reverted.default_capacity_provider_strategy()[0].capacity_provider(),
        "FARGATE_SPOT"
    );
    let tags = bed
        .ecs
        .list_tags_for_resource()
        .resource_arn(reverted.cluster_arn().expect("arn"))
        .send()
        .await
        .expect("tags");
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == Some("team") && t.value() == Some("core"))
    );

    // A service in the cluster holds its deletion.
    let td = bed.register_fargate("held", "nginx:1").await;
    bed.ecs
        .create_service()
        .cluster("platform")
        .service_name("holder")
        .task_definition(&td)
        .desired_count(0)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .network_configuration(
            aws_sdk_ecs::types::NetworkConfiguration::builder()
                .awsvpc_configuration(
                    aws_sdk_ecs::types::AwsVpcConfiguration::builder()
                        .subnets(subnet(&bed))
                        .build()
                        .expect("vpc"),
                )
                .build(),
        )
        .send()
        .await
        .expect("service");
    api.delete("platform", &DeleteParams::default())
        .await
        .expect("delete");
    let held = wait(&api, "platform", "Stalled ClusterInUse", |o| {
        stalled(o, "ClusterInUse")
    })
    .await;
    let message = condition(&held, "Stalled").2;
    assert!(
        message.contains("holder") && message.contains("deletionPolicy: Retain"),
        "{message}"
    );
    assert_eq!(
        bed.proxy.count("DeleteCluster"),
        0,
        "no refused delete is sent"
    );
    let events = common::wait_event(&bed.client, bed.ns(), "platform", |e| {
        e.0 == "Warning" && e.1 == "ClusterInUse"
    })
    .await;
    assert!(!events.is_empty());

    bed.ecs
        .delete_service()
        .cluster("platform")
        .service("holder")
        .force(true)
        .send()
        .await
        .expect("service deleted");
    wait_gone(&api, "platform").await;
    assert!(describe_cluster(&bed, "platform").await.is_none());
}

#[tokio::test]
async fn a_retained_cluster_outlives_its_object_and_a_foreign_one_is_not_taken() {
    let bed = Bed::start().await;
    let api = clusters(&bed);
    create(
        &api,
        "EcsCluster",
        "kept",
        json!({"clusterName": "kept-cluster", "deletionPolicy": "Retain"}),
    )
    .await;
    wait(&api, "kept", "Ready", ready).await;
    api.delete("kept", &DeleteParams::default())
        .await
        .expect("delete");
    wait_gone(&api, "kept").await;
    assert!(describe_cluster(&bed, "kept-cluster").await.is_some());
    assert_eq!(bed.proxy.count("DeleteCluster"), 0);

    // "prod" was made by the bed, not by an EcsCluster: refused, and left alone on deletion.
    create(&api, "EcsCluster", "prod", json!({})).await;
    let refused = wait(&api, "prod", "Stalled AlreadyExists", |o| {
        stalled(o, "AlreadyExists")
    })
    .await;
    assert!(
        condition(&refused, "Stalled")
            .2
            .contains("ecs.operator.dev/adopt")
    );
    api.delete("prod", &DeleteParams::default())
        .await
        .expect("delete");
    wait_gone(&api, "prod").await;
    assert!(describe_cluster(&bed, "prod").await.is_some());
    assert_eq!(bed.proxy.count("DeleteCluster"), 0);
}

#[tokio::test]
async fn a_task_runs_once_and_reports_success_through_a_referenced_cluster() {
    let bed = Bed::start().await;
    create(
        &clusters(&bed),
        "EcsCluster",
        "batch",
        json!({
            "capacityProviders": ["FARGATE"],
        }),
    )
    .await;
    bed.register_fargate("migrate", "migrator:1").await;
    let mut spec = fargate_task(
        &bed,
        json!({
            "taskDefinition": "migrate",
            "clusterRef": {"name": "batch"},
            "overrides": {"containerOverrides": [{"name": "app", "command": ["migrate", "up"]}]}
        }),
    );
    spec.as_object_mut().expect("spec").remove("cluster");
    create(&tasks(&bed), "EcsTask", "migrate-1", spec).await;
    let done = wait(&tasks(&bed), "migrate-1", "Ready", ready).await;
    let status = done.status.expect("status");
    assert_eq!(status.phase.map(|p| p.as_str()), Some("Succeeded"));
    assert_eq!(status.task_definition.as_deref(), Some("migrate:1"));
    assert_eq!(
        status.stop_code.as_deref(),
        Some("EssentialContainerExited")
    );
    assert_eq!(status.tasks.len(), 1);
    assert_eq!(status.tasks[0].containers[0].exit_code, Some(0));
    assert!(status.completion_time.is_some() && status.start_time.is_some());
    let runs = bed.requests("RunTask");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(
        runs[0]["cluster"]
            .as_str()
            .is_some_and(|c| c.ends_with(":cluster/batch"))
    );
    assert_eq!(
        runs[0]["overrides"]["containerOverrides"][0]["command"],
        json!(["migrate", "up"])
    );
    assert_eq!(
        runs[0]["clientToken"],
        json!(done.metadata.uid.clone().expect("uid"))
    );
    let events = common::wait_event(&bed.client, bed.ns(), "migrate-1", |e| {
        e.1 == "TaskSucceeded"
    })
    .await;
    assert!(events.iter().any(|e| e.1 == "TaskStarted"), "{events:?}");

    // A finished run is not read again: a pass on a spec change (the TTL, which may change)
    // costs no task read and runs nothing.
    let reads = bed.proxy.count("DescribeTasks") + bed.proxy.count("ListTasks");
    tasks(&bed)
        .patch(
            "migrate-1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"ttlSecondsAfterFinished": 3600}})),
        )
        .await
        .expect("patched");
    wait(&tasks(&bed), "migrate-1", "observed generation 2", |o| {
        ready(o)
            && o.status
                .as_ref()
                .and_then(|s| s.reconcile.observed_generation)
                == Some(2)
    })
    .await;
    assert_eq!(
        bed.proxy.count("DescribeTasks") + bed.proxy.count("ListTasks"),
        reads
    );
    assert_eq!(bed.proxy.count("RunTask"), 1);
}

#[tokio::test]
async fn each_failing_outcome_stalls_the_run_with_its_stop_code_and_reason() {
    let bed = Bed::start().await;
    let model = bed.proxy.model().expect("model");
    model.set_knobs(KnobsPatch {
        image_outcomes: Some(vec![
            ImageOutcome {
                image: "*:exit3".into(),
                outcome: TaskOutcome::Exit(3),
            },
            ImageOutcome {
                image: "*:oom".into(),
                outcome: TaskOutcome::OutOfMemory,
            },
            ImageOutcome {
                image: "*:broken".into(),
                outcome: TaskOutcome::PullFailure,
            },
            ImageOutcome {
                image: "*:nolog".into(),
                outcome: TaskOutcome::ResourceInitFailure,
            },
        ]),
        ..Default::default()
    });
    let cases = [
        ("exit3", "EssentialContainerExited", "exit code 3"),
        ("oom", "EssentialContainerExited", "OutOfMemoryError"),
        ("broken", "TaskFailedToStart", "CannotPullContainerError"),
        ("nolog", "TaskFailedToStart", "ResourceInitializationError"),
    ];
    for (tag, _, _) in cases {
        bed.register_fargate(&format!("job-{tag}"), &format!("job:{tag}"))
            .await;
        create(
            &tasks(&bed),
            "EcsTask",
            &format!("run-{tag}"),
            fargate_task(&bed, json!({"taskDefinition": format!("job-{tag}")})),
        )
        .await;
    }
    for (tag, stop_code, text) in cases {
        let name = format!("run-{tag}");
        let failed = wait(&tasks(&bed), &name, "Stalled TaskFailed", |o| {
            stalled(o, "TaskFailed")
        })
        .await;
        let status = failed.status.clone().expect("status");
        assert_eq!(status.phase.map(|p| p.as_str()), Some("Failed"), "{tag}");
        assert_eq!(status.stop_code.as_deref(), Some(stop_code), "{tag}");
        let message = condition(&failed, "Stalled").2;
        assert!(
            message.contains(text) && message.contains(stop_code),
            "{tag}: {message}"
        );
        assert_eq!(condition(&failed, "Ready").0, "False", "{tag}");
        let events = common::wait_event(&bed.client, bed.ns(), &name, |e| {
            e.0 == "Warning" && e.1 == "TaskFailed"
        })
        .await;
        assert!(
            events.iter().any(|e| e.2.contains(text)),
            "{tag}: {events:?}"
        );
    }
    assert_eq!(
        bed.proxy.count("RunTask"),
        cases.len(),
        "one RunTask per object"
    );
}

#[tokio::test]
async fn a_restart_mid_run_finds_the_tasks_and_runs_nothing_again_and_deletion_stops_them() {
    let mut bed = Bed::start().await;
    let model = bed.proxy.model().expect("model");
    model.set_knobs(KnobsPatch {
        image_outcomes: Some(vec![ImageOutcome {
            image: "*:server".into(),
            outcome: TaskOutcome::RunUntilStopped,
        }]),
        ..Default::default()
    });
    bed.register_fargate("server", "app:server").await;
    create(
        &tasks(&bed),
        "EcsTask",
        "long",
        fargate_task(&bed, json!({"taskDefinition": "server", "count": 2})),
    )
    .await;
    wait(&tasks(&bed), "long", "Running", |o| {
        o.status.as_ref().and_then(|s| s.phase).map(|p| p.as_str()) == Some("Running")
    })
    .await;

    // The operator stops, and its record of the run is lost (as if it crashed between RunTask
    // and the status write): the restarted operator must find the tasks, not run them again.
    bed.stop_controllers().await;
    tasks(&bed)
        .patch_status(
            "long",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"tasks": null, "phase": null}})),
        )
        .await
        .expect("status cleared");
    bed.start_controllers().await;
    let found = wait(&tasks(&bed), "long", "Running again with 2 tasks", |o| {
        o.status.as_ref().is_some_and(|s| s.tasks.len() == 2)
    })
    .await;
    assert_eq!(bed.proxy.count("RunTask"), 1, "no second RunTask");
    let events = common::wait_event(&bed.client, bed.ns(), "long", |e| e.1 == "TaskFound").await;
    assert!(!events.is_empty());

    tasks(&bed)
        .delete("long", &DeleteParams::default())
        .await
        .expect("delete");
    wait_gone(&tasks(&bed), "long").await;
    let stops = bed.requests("StopTask");
    assert_eq!(stops.len(), 2, "{stops:?}");
    assert!(stops.iter().all(|s| {
        s["reason"]
            .as_str()
            .is_some_and(|r| r.contains("EcsTask was deleted"))
    }));
    let arns: Vec<String> = found
        .status
        .expect("status")
        .tasks
        .into_iter()
        .map(|t| t.task_arn)
        .collect();
    let described = bed
        .ecs
        .describe_tasks()
        .cluster("prod")
        .set_tasks(Some(arns))
        .send()
        .await
        .expect("tasks");
    assert!(
        described
            .tasks()
            .iter()
            .all(|t| t.desired_status() == Some("STOPPED"))
    );
}

#[tokio::test]
async fn a_service_whose_image_cannot_be_pulled_says_why_in_events_and_status() {
    let bed = Bed::start().await;
    // A healthy service first: no task is read for it.
    bed.register("healthy", "app:1").await;
    bed.create_service(
        "healthy",
        common::stack::ec2(json!({"taskDefinition": "healthy", "desiredCount": 1})),
    )
    .await;
    bed.wait_ready("healthy").await;
    let task_reads = bed.proxy.count("ListTasks") + bed.proxy.count("DescribeTasks");
    bed.services()
        .patch(
            "healthy",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"tags": [{"key": "touched", "value": "yes"}]}})),
        )
        .await
        .expect("patched");
    bed.wait_for("healthy", "observed generation 2", |o| {
        o.status
            .as_ref()
            .and_then(|s| s.reconcile.observed_generation)
            == Some(2)
            && common::stack::condition(o, "Ready").0 == "True"
    })
    .await;
    assert_eq!(
        bed.proxy.count("ListTasks") + bed.proxy.count("DescribeTasks"),
        task_reads,
        "a healthy service costs no task read"
    );

    // Its image cannot be pulled: each stopped task is told once, the newest kept in status.
    bed.register("unpullable", "app:broken-7").await;
    bed.create_service(
        "unpullable",
        common::stack::ec2(json!({"taskDefinition": "unpullable", "desiredCount": 2})),
    )
    .await;
    let told = bed
        .wait_for("unpullable", "a stopped task in status", |o| {
            o.status
                .as_ref()
                .is_some_and(|s| s.last_stopped_task.is_some())
        })
        .await;
    let last = told.status.and_then(|s| s.last_stopped_task).expect("task");
    assert_eq!(last.stop_code.as_deref(), Some("TaskFailedToStart"));
    assert!(
        last.stopped_reason
            .as_deref()
            .is_some_and(|r| r.contains("CannotPullContainerError")),
        "{last:?}"
    );
    let events = common::wait_event(&bed.client, bed.ns(), "unpullable", |e| {
        e.0 == "Warning" && e.1 == "TaskStopped"
    })
    .await;
    let stopped: Vec<&(String, String, String)> =
        events.iter().filter(|e| e.1 == "TaskStopped").collect();
    assert!(
        stopped
            .iter()
            .all(|e| e.2.contains("TaskFailedToStart") && e.2.contains("CannotPullContainerError")),
        "{stopped:?}"
    );
    // Stopped tasks only, by service (the healthy one was read only while it rolled out).
    let requests = bed.requests("ListTasks");
    assert!(
        requests.iter().all(|r| r["desiredStatus"] == "STOPPED")
            && requests.iter().any(|r| r["serviceName"] == "unpullable"),
        "{requests:?}"
    );
}

async fn describe_provider(bed: &Bed, name: &str) -> Option<aws_sdk_ecs::types::CapacityProvider> {
    bed.ecs
        .describe_capacity_providers()
        .capacity_providers(name)
        .send()
        .await
        .expect("described")
        .capacity_providers()
        .first()
        .filter(|p| p.status().map(|s| s.as_str()) == Some("ACTIVE"))
        .cloned()
}

#[tokio::test]
async fn capacity_providers_are_created_updated_and_deleted_once_no_cluster_lists_them() {
    let bed = Bed::start().await;
    let group = ecs_testbed::aws::query::auto_scaling_group(bed.proxy.url(), "e2e-instances")
        .await
        .expect("group");
    create(
        &providers(&bed),
        "EcsCapacityProvider",
        "asg-pool",
        json!({"autoScalingGroupProvider": {
            "autoScalingGroupArn": "e2e-instances",
            "managedScaling": {"status": "ENABLED", "targetCapacity": 90},
            "managedTerminationProtection": "DISABLED",
            "managedDraining": "ENABLED"
        }}),
    )
    .await;
    let object = wait(&providers(&bed), "asg-pool", "Ready", ready).await;
    let status = object.status.expect("status");
    assert_eq!(status.kind.as_deref(), Some("EC2_AUTOSCALING"));
    let created = describe_provider(&bed, "asg-pool").await.expect("in ECS");
    let asg = created
        .auto_scaling_group_provider()
        .expect("group provider");
    assert_eq!(asg.auto_scaling_group_arn(), group);

    // An update the first attempt of which is throttled: sent again, and it lands.
    bed.refuse_once(
        "ecs:UpdateCapacityProvider",
        400,
        "ThrottlingException",
        "Rate exceeded",
    );
    providers(&bed)
        .patch(
            "asg-pool",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"autoScalingGroupProvider": {
                "managedScaling": {"status": "ENABLED", "targetCapacity": 70}
            }}})),
        )
        .await
        .expect("patched");
    wait(&providers(&bed), "asg-pool", "Ready at generation 2", |o| {
        ready(o)
            && o.status
                .as_ref()
                .and_then(|s| s.reconcile.observed_generation)
                == Some(2)
    })
    .await;
    let updated = describe_provider(&bed, "asg-pool").await.expect("in ECS");
    assert_eq!(
        updated
            .auto_scaling_group_provider()
            .and_then(|g| g.managed_scaling())
            .and_then(|m| m.target_capacity()),
        Some(70)
    );
    assert!(bed.proxy.count("UpdateCapacityProvider") >= 2);

    // A cluster lists it: its deletion waits, naming the cluster, until the cluster drops it.
    create(
        &clusters(&bed),
        "EcsCluster",
        "ec2-cluster",
        json!({"capacityProviders": ["asg-pool"],
               "defaultCapacityProviderStrategy": [{"capacityProvider": "asg-pool", "weight": 1}]}),
    )
    .await;
    wait(&clusters(&bed), "ec2-cluster", "Ready", ready).await;
    providers(&bed)
        .delete("asg-pool", &DeleteParams::default())
        .await
        .expect("delete");
    let held = wait(&providers(&bed), "asg-pool", "Stalled in use", |o| {
        stalled(o, "CapacityProviderInUse")
    })
    .await;
    assert!(condition(&held, "Stalled").2.contains("ec2-cluster"));
    assert_eq!(bed.proxy.count("DeleteCapacityProvider"), 0);
    clusters(&bed)
        .patch(
            "ec2-cluster",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"capacityProviders": [], "defaultCapacityProviderStrategy": []}}),
            ),
        )
        .await
        .expect("patched");
    wait_gone(&providers(&bed), "asg-pool").await;
    assert_eq!(bed.proxy.count("DeleteCapacityProvider"), 1);
    let deleting = describe_provider(&bed, "asg-pool")
        .await
        .and_then(|p| p.update_status().map(|u| u.as_str().to_owned()));
    assert!(
        deleting.is_none() || deleting.as_deref() == Some("DELETE_IN_PROGRESS"),
        "{deleting:?}"
    );

    // A Managed Instances provider belongs to its cluster, which waits for it on deletion.
    create(
        &providers(&bed),
        "EcsCapacityProvider",
        "managed-pool",
        json!({"clusterRef": {"name": "ec2-cluster"},
        "managedInstancesProvider": {
            "infrastructureRoleArn": "arn:aws:iam::123456789012:role/infra",
            "instanceLaunchTemplate": {
                "ec2InstanceProfileArn": "arn:aws:iam::123456789012:instance-profile/p",
                "networkConfiguration": {"subnets": ["subnet-12345"]},
                "instanceRequirements": {"vCpuCount": {"min": 2}, "memoryMiB": {"min": 4096}}
            }}}),
    )
    .await;
    let managed = wait(&providers(&bed), "managed-pool", "Ready", ready).await;
    assert_eq!(
        managed.status.and_then(|s| s.kind).as_deref(),
        Some("MANAGED_INSTANCES")
    );
    let created = bed.requests("CreateCapacityProvider");
    assert!(
        created.iter().any(|r| r["cluster"]
            .as_str()
            .is_some_and(|c| c.ends_with("ec2-cluster"))),
        "{created:?}"
    );
    clusters(&bed)
        .delete("ec2-cluster", &DeleteParams::default())
        .await
        .expect("delete");
    let waiting = wait(&clusters(&bed), "ec2-cluster", "Stalled in use", |o| {
        stalled(o, "ClusterInUse")
    })
    .await;
    assert!(condition(&waiting, "Stalled").2.contains("managed-pool"));
    providers(&bed)
        .delete("managed-pool", &DeleteParams::default())
        .await
        .expect("delete");
    wait_gone(&providers(&bed), "managed-pool").await;
    wait_gone(&clusters(&bed), "ec2-cluster").await;
}

#[tokio::test]
async fn a_service_and_its_scaling_policy_follow_a_referenced_cluster() {
    let bed = Bed::start().await;
    bed.register_fargate("web", "web:1").await;
    // The service waits for its cluster, which does not exist yet.
    bed.create_service(
        "web",
        json!({
            "clusterRef": {"name": "apps"},
            "taskDefinition": "web",
            "desiredCount": 1,
            "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": [subnet(&bed)]}}
        }),
    )
    .await;
    let waiting = bed
        .wait_for("web", "waiting for its cluster", |o| {
            common::stack::condition(o, "Reconciling").1 == "ClusterNotFound"
        })
        .await;
    assert!(
        common::stack::condition(&waiting, "Reconciling")
            .2
            .contains("apps")
    );
    assert_eq!(bed.proxy.count("CreateService"), 0);
    create(&clusters(&bed), "EcsCluster", "apps", json!({})).await;
    let ready = bed.wait_ready("web").await;
    let cluster_arn = ready.status.and_then(|s| s.cluster_arn).expect("cluster");
    assert!(cluster_arn.ends_with(":cluster/apps"), "{cluster_arn}");
    let created = bed.requests("CreateService");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["cluster"], json!(cluster_arn));

    let policy: ecs_operator::api::EcsScalingPolicy = serde_json::from_value(json!({
        "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsScalingPolicy",
        "metadata": {"name": "web"},
        "spec": {"serviceRef": {"name": "web"}, "minCapacity": 1, "maxCapacity": 3}
    }))
    .expect("policy");
    bed.policies()
        .create(&PostParams::default(), &policy)
        .await
        .expect("created");
    wait(&bed.policies(), "web", "Ready", ready_policy).await;
    let registered = bed.requests("RegisterScalableTarget");
    assert!(
        registered
            .iter()
            .any(|r| r["ResourceId"] == "service/apps/web"),
        "{registered:?}"
    );

    // Deleted together, the service goes first; the cluster waits for it.
    clusters(&bed)
        .delete("apps", &DeleteParams::default())
        .await
        .expect("delete");
    bed.services()
        .delete("web", &DeleteParams::default())
        .await
        .expect("delete");
    bed.policies()
        .delete("web", &DeleteParams::default())
        .await
        .expect("delete");
    wait_gone(&clusters(&bed), "apps").await;
    assert!(describe_cluster(&bed, "apps").await.is_none());
}

fn ready_policy(object: &ecs_operator::api::EcsScalingPolicy) -> bool {
    ready(object)
}

fn lose_answer_once(operation: &str) -> ecs_testbed::aws::proxy::FaultRule {
    ecs_testbed::aws::proxy::FaultRule {
        operation: operation.into(),
        probability: None,
        every_nth: None,
        max_times: Some(1),
        fault: ecs_testbed::aws::proxy::Fault::DropResponse,
    }
}

#[tokio::test]
async fn lost_answers_to_creates_and_runs_make_nothing_twice() {
    let bed = Bed::start().await;
    // AWS does the work and the answer never arrives, once for each create.
    bed.proxy.set_faults(vec![
        lose_answer_once("ecs:CreateCluster"),
        lose_answer_once("ecs:CreateCapacityProvider"),
        lose_answer_once("ecs:RunTask"),
    ]);
    ecs_testbed::aws::query::auto_scaling_group(bed.proxy.url(), "lost-instances")
        .await
        .expect("group");
    create(
        &clusters(&bed),
        "EcsCluster",
        "lost",
        json!({"settings": {"containerInsights": "enabled"}}),
    )
    .await;
    create(
        &providers(&bed),
        "EcsCapacityProvider",
        "lost-pool",
        json!({"autoScalingGroupProvider": {"autoScalingGroupArn": "lost-instances"}}),
    )
    .await;
    bed.register_fargate("once", "job:1").await;
    create(
        &tasks(&bed),
        "EcsTask",
        "once",
        fargate_task(&bed, json!({"taskDefinition": "once"})),
    )
    .await;
    wait(&clusters(&bed), "lost", "Ready", ready).await;
    wait(&providers(&bed), "lost-pool", "Ready", ready).await;
    let done = wait(&tasks(&bed), "once", "Ready", ready).await;

    // CreateCluster is repeated (the same arguments: ECS answers with the same cluster).
    assert!(
        bed.proxy.count("CreateCluster") >= 4,
        "two by the bed, the lost one, its repeat"
    );
    let listed = bed.ecs.list_clusters().send().await.expect("clusters");
    let named_lost = listed
        .cluster_arns()
        .iter()
        .filter(|a| a.ends_with(":cluster/lost"))
        .count();
    assert_eq!(named_lost, 1);
    // CreateCapacityProvider is not repeated: the next pass finds it by name and owner tags.
    assert_eq!(bed.proxy.count("CreateCapacityProvider"), 1);
    // RunTask is repeated with the same client token: still one task, the one in status.
    assert!(bed.proxy.count("RunTask") >= 2);
    let status = done.status.expect("status");
    assert_eq!(status.tasks.len(), 1);
    let started: Vec<String> = bed
        .ecs
        .list_tasks()
        .cluster("prod")
        .started_by(status.started_by.clone().expect("startedBy"))
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
        .send()
        .await
        .expect("tasks")
        .task_arns()
        .to_vec();
    assert_eq!(started, [status.tasks[0].task_arn.clone()]);
}
