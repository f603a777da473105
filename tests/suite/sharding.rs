//! Sharding installs with `--selector`: two installs on one Kubernetes cluster split the objects
//! by label and never reconcile the same one; an object relabelled to the other install is taken
//! over with the same finalizer and without a second registration.

use crate::common;

use std::process::Command;

use common::stack::{Bed, ec2};
use ecs_operator::api::EcsTaskDefinition;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

const INSTANCE: &str = "ecs.operator.dev/instance";

async fn create_labelled(bed: &Bed, name: &str, instance: Option<&str>) {
    let labels = match instance {
        Some(instance) => json!({ INSTANCE: instance }),
        None => json!({}),
    };
    let object: EcsTaskDefinition = serde_json::from_value(json!({
        "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsTaskDefinition",
        "metadata": {"name": name, "labels": labels},
        "spec": {"family": name, "containerDefinitions": [{"name": "app", "image": "nginx:1", "memory": 128}]}
    }))
    .expect("object");
    bed.tds()
        .create(&PostParams::default(), &object)
        .await
        .expect("created");
}

/// The families RegisterTaskDefinition was called for, in order.
fn registered(bed: &Bed) -> Vec<String> {
    bed.requests("RegisterTaskDefinition")
        .iter()
        .map(|body| body["family"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_installs_split_objects_by_label_and_hand_one_over() {
    let mut bed = Bed::with_selector(&format!("{INSTANCE}=a")).await;
    // A second install beside the first, as a second Helm release with `instance: b`.
    bed.selector = Some(format!("{INSTANCE}=b"));
    bed.start_controllers().await;

    // Created first: had either install matched it, it would be reconciled before the others.
    create_labelled(&bed, "unlabelled", None).await;
    create_labelled(&bed, "first", Some("a")).await;
    create_labelled(&bed, "second", Some("b")).await;
    bed.wait_td_ready("first", 1).await;
    bed.wait_td_ready("second", 1).await;

    let mut families = registered(&bed);
    families.sort();
    assert_eq!(
        families,
        ["first", "second"],
        "each labelled object registered once, by one install; the unlabelled one by none"
    );
    let unlabelled = bed.tds().get("unlabelled").await.expect("unlabelled");
    assert!(unlabelled.status.is_none(), "no install wrote its status");
    assert!(
        unlabelled
            .metadata
            .finalizers
            .unwrap_or_default()
            .is_empty(),
        "no install added its finalizer"
    );

    // A reference across installs resolves: install a's service runs install b's revision.
    bed.create_service_object(json!({
        "metadata": {"name": "web", "labels": { INSTANCE: "a" }},
        "spec": ec2(json!({"taskDefinitionRef": {"name": "second"}})),
    }))
    .await;
    let web = bed.wait_ready("web").await;
    let second = bed.tds().get("second").await.expect("second");
    assert_eq!(
        web.status.and_then(|s| s.task_definition_arn),
        second.status.and_then(|s| s.task_definition_arn),
    );

    // Relabelled to install b: a leaves it (the watch reports it gone), b takes it over with the
    // finalizer already there and the revision already registered.
    bed.tds()
        .patch(
            "first",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": { INSTANCE: "b" }}})),
        )
        .await
        .expect("relabelled");
    bed.set_image("first", "nginx:2").await;
    bed.wait_td_ready("first", 2).await;
    let mut families = registered(&bed);
    families.sort();
    assert_eq!(
        families,
        ["first", "first", "second"],
        "the new image registered once more, by one install"
    );

    // Deleting it: the install that holds it now removes its finalizer.
    bed.tds()
        .delete("first", &DeleteParams::default())
        .await
        .expect("deleted");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while bed.tds().get_opt("first").await.expect("get").is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the relabelled object is never released"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    bed.stop_controllers().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_selector_stops_the_start_with_the_servers_reason() {
    let cluster = common::cluster().await;
    if cluster.kind == common::ClusterKind::Emulator {
        eprintln!("note: the emulator does not parse label selectors; nothing to check");
        return;
    }
    let output = Command::new(env!("CARGO_BIN_EXE_ecs-operator"))
        .args(["run", "--selector", "tier in (web"])
        .env("KUBECONFIG", &cluster.kubeconfig)
        .env("ECS_OPERATOR_LEADER_ELECTION", "false")
        .env("ECS_OPERATOR_ADMIN_BIND_ADDRESS", "127.0.0.1:0")
        .env("ECS_OPERATOR_AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("runs");
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        (stderr.clone() + stdout.clone()).contains("is not a valid label selector"),
        "stderr: {stderr}\nstdout: {stdout}"
    );
}
