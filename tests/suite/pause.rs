//! Pausing: `ecs.operator.dev/reconcile: disabled` on one object, or `--read-only` for all, stops
//! every AWS write while the operator keeps observing and reports what applying would call;
//! deleting a paused object leaves AWS as it is; removing the annotation resumes.

use crate::common;

use common::stack::{Bed, condition, ec2};
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;

fn writes(bed: &Bed, since: usize) -> Vec<String> {
    bed.proxy.requests()[since..]
        .iter()
        .map(|r| r.operation.clone())
        .filter(|op| {
            !["Describe", "List", "Get"]
                .iter()
                .any(|p| op.starts_with(p))
        })
        .collect()
}

async fn annotate(bed: &Bed, name: &str, value: Option<&str>) {
    bed.services()
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"annotations": {"ecs.operator.dev/reconcile": value}}}),
            ),
        )
        .await
        .expect("annotated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_service_reports_drift_writes_nothing_and_resumes() {
    let bed = Bed::start().await;
    let family = format!("{}-web", bed.ns());
    let arn = bed.register(&family, "nginx:1").await;
    bed.create_service(
        "web",
        ec2(json!({"serviceName": "web", "taskDefinition": arn, "desiredCount": 1})),
    )
    .await;
    bed.wait_ready("web").await;

    annotate(&bed, "web", Some("disabled")).await;
    let before = bed.proxy.requests().len();
    bed.services()
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"desiredCount": 3}})),
        )
        .await
        .expect("scaled");
    let paused = bed
        .wait_for("web", "Paused with the pending call", |o| {
            condition(o, "Paused").0 == "True"
                && condition(o, "Paused").2.contains("ecs:UpdateService")
                && o.status
                    .as_ref()
                    .and_then(|s| s.reconcile.observed_generation)
                    == o.metadata.generation
        })
        .await;
    assert_eq!(
        condition(&paused, "Ready").0,
        "False",
        "AWS does not match the spec"
    );
    assert_eq!(condition(&paused, "Reconciling").0, "False");
    assert_eq!(condition(&paused, "Stalled").0, "False");
    assert_eq!(condition(&paused, "Paused").1, "ReconcileDisabled");
    assert_eq!(
        writes(&bed, before),
        Vec::<String>::new(),
        "no AWS write while paused"
    );
    assert_eq!(bed.describe("prod", "web").await.desired_count(), 1);

    // Resumed: the pending change goes out.
    annotate(&bed, "web", None).await;
    let resumed = bed
        .wait_for("web", "Ready at 3", |o| {
            condition(o, "Ready").0 == "True"
                && condition(o, "Paused").0.is_empty()
                && o.status.as_ref().and_then(|s| s.desired_count) == Some(3)
        })
        .await;
    assert_eq!(condition(&resumed, "Paused").0, "", "the condition is gone");
    assert_eq!(bed.describe("prod", "web").await.desired_count(), 3);

    // Deleting a paused object leaves the service in AWS.
    annotate(&bed, "web", Some("disabled")).await;
    bed.wait_for("web", "Paused", |o| condition(o, "Paused").0 == "True")
        .await;
    let before = bed.proxy.requests().len();
    bed.services()
        .delete("web", &DeleteParams::default())
        .await
        .expect("deleted");
    bed.wait_for_gone("web").await;
    assert_eq!(
        writes(&bed, before),
        Vec::<String>::new(),
        "no DeleteService"
    );
    assert_eq!(bed.describe("prod", "web").await.status(), Some("ACTIVE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_observes_every_object_and_creates_nothing() {
    let bed = Bed::read_only().await;
    let family = format!("{}-api", bed.ns());
    let arn = bed.register(&family, "nginx:1").await;
    let before = bed.proxy.requests().len();
    bed.create_service(
        "api",
        ec2(json!({"serviceName": "api", "taskDefinition": arn, "desiredCount": 2})),
    )
    .await;
    let paused = bed
        .wait_for("api", "Paused with CreateService pending", |o| {
            condition(o, "Paused").0 == "True"
                && condition(o, "Paused").2.contains("ecs:CreateService")
        })
        .await;
    assert_eq!(condition(&paused, "Paused").1, "ReadOnly");
    assert_eq!(condition(&paused, "Ready").0, "False");
    assert!(
        paused
            .metadata
            .finalizers
            .as_ref()
            .is_none_or(Vec::is_empty),
        "nothing to clean up, no finalizer: {:?}",
        paused.metadata.finalizers
    );
    assert_eq!(writes(&bed, before), Vec::<String>::new());
    // A reference that is not there is still a paused object's state, not a retry loop.
    bed.create_service(
        "orphan",
        ec2(json!({"serviceName": "orphan", "taskDefinitionRef": {"name": "missing"}, "desiredCount": 1})),
    )
    .await;
    let waiting = bed
        .wait_for("orphan", "Paused naming the missing reference", |o| {
            condition(o, "Paused").0 == "True" && condition(o, "Paused").2.contains("missing")
        })
        .await;
    assert_eq!(condition(&waiting, "Reconciling").0, "False");
    assert_eq!(condition(&waiting, "Stalled").0, "False");
    bed.services()
        .delete("api", &DeleteParams::default())
        .await
        .expect("deleted");
    bed.wait_for_gone("api").await;
    assert_eq!(writes(&bed, before), Vec::<String>::new());
}

/// A spec edited while paused is applied as a change on resume: a service naming its task
/// definition by family rolls to the family's newest revision, as it would have unpaused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_changed_while_paused_is_applied_as_a_change_on_resume() {
    let bed = Bed::start().await;
    let family = format!("{}-app", bed.ns());
    bed.register(&family, "nginx:1").await;
    bed.create_service(
        "app",
        ec2(json!({"serviceName": "app", "taskDefinition": family, "desiredCount": 1})),
    )
    .await;
    bed.wait_ready("app").await;

    annotate(&bed, "app", Some("disabled")).await;
    let second = bed.register(&family, "nginx:2").await;
    bed.services()
        .patch(
            "app",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"desiredCount": 2}})),
        )
        .await
        .expect("scaled");
    bed.wait_for("app", "Paused at the new generation", |o| {
        condition(o, "Paused").0 == "True"
            && o.status
                .as_ref()
                .and_then(|s| s.reconcile.observed_generation)
                == o.metadata.generation
    })
    .await;

    annotate(&bed, "app", None).await;
    let resumed = bed
        .wait_for("app", "Ready on the newest revision", |o| {
            condition(o, "Ready").0 == "True"
                && o.status.as_ref().and_then(|s| s.desired_count) == Some(2)
        })
        .await;
    assert_eq!(
        resumed
            .status
            .as_ref()
            .and_then(|s| s.desired_task_definition_arn.clone()),
        Some(second),
        "the family's newest revision, resolved for the changed spec"
    );
}
