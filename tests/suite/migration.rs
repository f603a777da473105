//! Moving to a new Kubernetes cluster (or restoring a backup): the same manifests applied again
//! get new UIDs; with `--adopt-same-owner` the operator takes over what the objects of the same
//! namespace and name created (owner tags; the task definition by its content) without
//! registering, creating or updating anything: only the owner tags change.

use crate::common;

use std::time::{Duration, Instant};

use common::stack::{Bed, ec2};
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;

/// The old cluster vanishes: its objects are gone without their finalizers running, and what
/// they made stays in AWS with their owner tags.
async fn vanish(bed: &Bed) {
    for name in ["web"] {
        let strip = Patch::Merge(json!({"metadata": {"finalizers": null}}));
        bed.services()
            .patch(name, &PatchParams::default(), &strip)
            .await
            .expect("finalizer removed");
        bed.services()
            .delete(name, &DeleteParams::default())
            .await
            .expect("deleted");
        bed.tds()
            .patch(name, &PatchParams::default(), &strip)
            .await
            .expect("finalizer removed");
        bed.tds()
            .delete(name, &DeleteParams::default())
            .await
            .expect("deleted");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while bed.services().get_opt("web").await.expect("get").is_some()
        || bed.tds().get_opt("web").await.expect("get").is_some()
    {
        assert!(Instant::now() < deadline, "never gone");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_cluster_takes_over_with_owner_tag_writes_only() {
    let mut bed = Bed::start().await;
    let service = ec2(json!({"taskDefinitionRef": {"name": "web"}}));
    bed.create_td("web", "nginx:1").await;
    bed.create_service("web", service.clone()).await;
    bed.wait_ready("web").await;
    let old_uid = bed.services().get("web").await.expect("web").metadata.uid;
    bed.stop_controllers().await;
    vanish(&bed).await;

    // The same manifests in the "new cluster", whose operator runs with --adopt-same-owner.
    bed.create_td("web", "nginx:1").await;
    bed.create_service("web", service).await;
    let before = bed.proxy.requests().len();
    bed.adopt_same_owner = true;
    bed.start_controllers().await;
    let taken = bed.wait_ready("web").await;
    bed.wait_td_ready("web", 1).await;
    assert_ne!(taken.metadata.uid, old_uid, "a new object");

    let writes: Vec<String> = bed.proxy.requests()[before..]
        .iter()
        .map(|r| r.operation.clone())
        .filter(|op| {
            !["Describe", "List", "Get"]
                .iter()
                .any(|p| op.starts_with(p))
        })
        .collect();
    assert!(
        writes
            .iter()
            .all(|op| op == "TagResource" || op == "UntagResource"),
        "only the owner tags change: {writes:?}"
    );
    assert!(
        writes.iter().any(|op| op == "TagResource"),
        "the new UIDs are tagged: {writes:?}"
    );
    let tags = bed
        .ecs
        .list_tags_for_resource()
        .resource_arn(
            taken
                .status
                .as_ref()
                .and_then(|s| s.service_arn.clone())
                .expect("arn"),
        )
        .send()
        .await
        .expect("tags")
        .tags
        .unwrap_or_default();
    let owner_uid = tags
        .iter()
        .find(|t| t.key() == Some("ecs.operator.dev/owner-uid"))
        .and_then(|t| t.value());
    assert_eq!(owner_uid, taken.metadata.uid.as_deref(), "{tags:?}");
}
