//! Deletion defaults: an object that says nothing about its deletion policy follows its
//! namespace's `ecs.operator.dev/deletion-policy` annotation, else `--default-deletion-policy`;
//! deleting a namespace marked Retain leaves ECS as it is; an annotation that is no policy holds
//! the deletion instead of guessing.

use crate::common;

use std::time::{Duration, Instant};

use aws_sdk_ecs::types::TaskDefinitionStatus;
use common::stack::{Bed, ec2};
use ecs_operator::api::{DELETION_POLICY_ANNOTATION, DeletionPolicy, EcsTaskDefinition};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

async fn annotate_namespace(bed: &Bed, value: &str) {
    let namespaces: Api<Namespace> = Api::all(bed.client.clone());
    namespaces
        .patch(
            bed.ns(),
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"annotations": { DELETION_POLICY_ANNOTATION: value }}}),
            ),
        )
        .await
        .expect("namespace annotated");
}

async fn td_status(bed: &Bed, arn: &str) -> TaskDefinitionStatus {
    bed.ecs
        .describe_task_definition()
        .task_definition(arn)
        .send()
        .await
        .expect("described")
        .task_definition
        .and_then(|td| td.status)
        .expect("status")
}

async fn arn_of(bed: &Bed, name: &str) -> String {
    bed.tds()
        .get(name)
        .await
        .expect("td")
        .status
        .and_then(|s| s.task_definition_arn)
        .expect("arn")
}

async fn create_td(bed: &Bed, name: &str, policy: Option<&str>) {
    let mut spec = json!({"family": name, "containerDefinitions": [{"name": "app", "image": "nginx:1", "memory": 128}]});
    if let Some(policy) = policy {
        spec["deletionPolicy"] = json!(policy);
    }
    let object: EcsTaskDefinition = serde_json::from_value(json!({
        "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsTaskDefinition",
        "metadata": {"name": name}, "spec": spec
    }))
    .expect("object");
    bed.tds()
        .create(&PostParams::default(), &object)
        .await
        .expect("created");
}

async fn wait_gone(bed: &Bed, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while bed.tds().get_opt(name).await.expect("get").is_some() {
        assert!(Instant::now() < deadline, "{name} never deleted");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_namespace_marked_retain_leaves_ecs_untouched() {
    let bed = Bed::start().await;
    if bed.cluster.kind == common::ClusterKind::Emulator {
        eprintln!("note: the emulator has no namespace controller; nothing to check");
        return;
    }
    annotate_namespace(&bed, "Retain").await;
    bed.create_td("web", "nginx:1").await;
    bed.create_service("web", ec2(json!({"taskDefinitionRef": {"name": "web"}})))
        .await;
    bed.wait_ready("web").await;
    let td_arn = arn_of(&bed, "web").await;

    let namespaces: Api<Namespace> = Api::all(bed.client.clone());
    namespaces
        .delete(bed.ns(), &DeleteParams::default())
        .await
        .expect("namespace deleted");
    let deadline = Instant::now() + Duration::from_secs(120);
    while namespaces.get_opt(bed.ns()).await.expect("get").is_some() {
        assert!(
            Instant::now() < deadline,
            "the namespace is never gone (finalizers held?)"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    for operation in [
        "DeleteService",
        "DeregisterTaskDefinition",
        "DeleteTaskDefinitions",
    ] {
        assert!(
            bed.requests(operation).is_empty(),
            "{operation} called for a namespace marked Retain"
        );
    }
    let left = bed.describe("prod", "web").await;
    assert_eq!(left.status.as_deref(), Some("ACTIVE"));
    assert_eq!(left.desired_count, 2);
    assert_eq!(td_status(&bed, &td_arn).await, TaskDefinitionStatus::Active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spec_then_the_namespace_then_the_operator_default_decide() {
    let bed =
        Bed::with_default_deletion_policy(DeletionPolicy::Retain, Duration::from_secs(2)).await;
    create_td(&bed, "defaulted", None).await;
    create_td(&bed, "explicit", Some("Delete")).await;
    bed.wait_td_ready("defaulted", 1).await;
    bed.wait_td_ready("explicit", 1).await;
    let defaulted = arn_of(&bed, "defaulted").await;
    let explicit = arn_of(&bed, "explicit").await;
    for name in ["defaulted", "explicit"] {
        bed.tds()
            .delete(name, &DeleteParams::default())
            .await
            .expect("deleted");
        wait_gone(&bed, name).await;
    }
    assert_eq!(
        td_status(&bed, &defaulted).await,
        TaskDefinitionStatus::Active,
        "--default-deletion-policy Retain kept it"
    );
    assert_eq!(
        td_status(&bed, &explicit).await,
        TaskDefinitionStatus::Inactive,
        "spec.deletionPolicy Delete wins over the default"
    );

    // The namespace says Delete: it wins over the operator's default.
    annotate_namespace(&bed, "Delete").await;
    create_td(&bed, "namespaced", None).await;
    bed.wait_td_ready("namespaced", 1).await;
    let namespaced = arn_of(&bed, "namespaced").await;
    bed.tds()
        .delete("namespaced", &DeleteParams::default())
        .await
        .expect("deleted");
    wait_gone(&bed, "namespaced").await;
    assert_eq!(
        td_status(&bed, &namespaced).await,
        TaskDefinitionStatus::Inactive
    );

    // An annotation that is no policy holds the deletion, saying why, until it is fixed.
    annotate_namespace(&bed, "keep").await;
    create_td(&bed, "held", None).await;
    bed.wait_td_ready("held", 1).await;
    let held = arn_of(&bed, "held").await;
    bed.tds()
        .delete("held", &DeleteParams::default())
        .await
        .expect("deleted");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let object = bed.tds().get("held").await.expect("still there");
        let stalled = object.status.as_ref().and_then(|s| {
            s.reconcile
                .conditions
                .iter()
                .find(|c| c.type_ == "Stalled" && c.status == "True")
                .map(|c| (c.reason.clone(), c.message.clone()))
        });
        if let Some((reason, message)) = stalled {
            assert_eq!(reason, "InvalidDeletionPolicy");
            assert!(
                message.contains(DELETION_POLICY_ANNOTATION) && message.contains("\"keep\""),
                "{message}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "never Stalled: {object:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(td_status(&bed, &held).await, TaskDefinitionStatus::Active);
    annotate_namespace(&bed, "Retain").await;
    wait_gone(&bed, "held").await;
    assert_eq!(td_status(&bed, &held).await, TaskDefinitionStatus::Active);
}
