//! The `/scale` subresource of EcsService: `kubectl scale` (and so an HPA or KEDA) drives
//! `spec.desiredCount`, reads `status.runningCount` and a selector; the chart's admission policy
//! refuses it, naming the policy, when an EcsScalingPolicy owns the count.

use crate::common;

use std::process::Output;
use std::time::{Duration, Instant};

use common::stack::{Bed, ec2};
use ecs_operator::api::EcsScalingPolicy;
use kube::api::PostParams;
use serde_json::{Value, json};

async fn kubectl(bed: &Bed, args: &[&str]) -> Output {
    let mut command = std::process::Command::new("kubectl");
    command
        .arg("--kubeconfig")
        .arg(&bed.cluster.kubeconfig)
        .args(["--namespace", bed.ns()])
        .args(args);
    tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("joined")
        .expect("kubectl runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn create_policy(bed: &Bed, name: &str, target: Value) {
    let mut spec = json!({"minCapacity": 1, "maxCapacity": 4});
    for (key, value) in target.as_object().expect("object") {
        spec[key] = value.clone();
    }
    let policy: EcsScalingPolicy = serde_json::from_value(json!({
        "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsScalingPolicy",
        "metadata": {"name": name}, "spec": spec
    }))
    .expect("policy");
    bed.policies()
        .create(&PostParams::default(), &policy)
        .await
        .expect("created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_scale_drives_the_count_unless_a_policy_owns_it() {
    let bed = Bed::start().await;
    if bed.cluster.kind == common::ClusterKind::Emulator {
        eprintln!("note: the emulator serves no /scale subresource or admission; nothing to check");
        return;
    }
    common::install_admission_policy(&bed.cluster, "autoscaled-count", &[]).await;
    bed.create_td("app", "nginx:1").await;
    for name in ["manual", "auto", "legacy"] {
        bed.create_service(
            name,
            ec2(json!({"taskDefinitionRef": {"name": "app"}, "desiredCount": 2})),
        )
        .await;
    }
    create_policy(
        &bed,
        "auto-scaling",
        json!({"serviceRef": {"name": "auto"}}),
    )
    .await;
    create_policy(
        &bed,
        "legacy-scaling",
        json!({"resourceId": "service/prod/legacy"}),
    )
    .await;
    bed.wait_ready("manual").await;

    // The API server loads policies, bindings and their parameters asynchronously: wait (by
    // server-side dry runs, which change nothing) until the policy is in force.
    let deadline = Instant::now() + Duration::from_secs(60);
    let refused = loop {
        let attempt = kubectl(
            &bed,
            &[
                "scale",
                "ecsservice",
                "auto",
                "--replicas=5",
                "--dry-run=server",
            ],
        )
        .await;
        if !attempt.status.success() {
            break text(&attempt);
        }
        assert!(
            Instant::now() < deadline,
            "the admission policy never took effect"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(
        refused.contains(
            "EcsScalingPolicy auto-scaling owns the desired count of EcsService auto: change its minCapacity/maxCapacity"
        ),
        "{refused}"
    );
    let legacy = kubectl(&bed, &["scale", "ecsservice", "legacy", "--replicas=5"]).await;
    assert!(!legacy.status.success(), "a resourceId policy owns it too");
    assert!(
        text(&legacy).contains("EcsScalingPolicy legacy-scaling owns"),
        "{}",
        text(&legacy)
    );
    let auto = kubectl(&bed, &["scale", "ecsservice", "auto", "--replicas=5"]).await;
    assert!(!auto.status.success(), "{}", text(&auto));
    let object = bed.services().get("auto").await.expect("auto");
    assert_eq!(object.spec.desired_count, Some(2), "nothing stored");

    // A service no policy owns scales, with policies for others in the namespace.
    let scaled = kubectl(&bed, &["scale", "ecsservice", "manual", "--replicas=3"]).await;
    assert!(scaled.status.success(), "{}", text(&scaled));
    bed.wait_for("manual", "desired count 3 in ECS", |o| {
        o.status.as_ref().and_then(|s| s.desired_count) == Some(3)
            && o.status
                .as_ref()
                .and_then(|s| s.reconcile.observed_generation)
                == o.metadata.generation
    })
    .await;
    assert_eq!(bed.describe("prod", "manual").await.desired_count, 3);
    let updates: Vec<Value> = bed
        .requests("UpdateService")
        .into_iter()
        .filter(|body| body["service"] == "manual")
        .collect();
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0]["desiredCount"], 3);

    // What an autoscaler reads: the count, the running tasks and a selector.
    let scale = kubectl(
        &bed,
        &[
            "get",
            "ecsservice",
            "manual",
            "--subresource=scale",
            "-o",
            "json",
        ],
    )
    .await;
    assert!(scale.status.success(), "{}", text(&scale));
    let scale: Value = serde_json::from_slice(&scale.stdout).expect("scale");
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["spec"]["replicas"], 3);
    assert_eq!(
        scale["status"]["selector"],
        "ecs.operator.dev/ecsservice=manual"
    );
    let running = bed
        .services()
        .get("manual")
        .await
        .expect("manual")
        .status
        .and_then(|s| s.running_count)
        .unwrap_or_default();
    assert_eq!(scale["status"]["replicas"], running);
}
