//! The README's first command: the sandbox brings every example to Ready against the test bed.

use crate::common;

use std::time::Duration;

use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_brings_every_example_to_ready_and_cleans_up() {
    let dir =
        std::env::temp_dir().join(format!("ecs-operator-sandbox-test-{}", std::process::id()));
    let options = ecs_testbed::bench::sandbox::SandboxOptions {
        operator: env!("CARGO_BIN_EXE_ecs-operator").into(),
        examples: common::root().join("examples"),
        dir: dir.clone(),
        timeout: Duration::from_secs(120),
        // What `ecs-testbed sandbox` picks by default: the real control plane where Go is.
        real_control_plane: ecs_testbed::kube::control_plane::available(),
    };
    let sandbox = ecs_testbed::bench::sandbox::up(&options)
        .await
        .expect("sandbox up");
    assert!(sandbox.all_ready, "every example Ready");
    for (plural, count) in [
        ("ecscapacityproviders", 2),
        ("ecsclusters", 2),
        ("ecstaskdefinitions", 7),
        ("ecsservices", 5),
        ("ecsscalingpolicies", 3),
        ("ecstasks", 2),
    ] {
        let health = sandbox.stack.health(plural).await.expect("health");
        assert_eq!((health.total, health.ready), (count, count), "{plural}");
    }
    let listed = sandbox
        .stack
        .ecs("ListServices", &json!({"cluster": "my-cluster"}))
        .await
        .expect("ListServices");
    assert_eq!(
        listed["serviceArns"].as_array().map(Vec::len),
        Some(5),
        "{listed}"
    );
    assert!(dir.join("kubeconfig").exists());
    // What a new user tries first shows what the operator reported.
    let described = ecs_testbed::bench::sandbox::kubectl(
        &dir.join("kubeconfig"),
        &["describe", "ecssvc", "web-service"],
    )
    .expect("kubectl describe");
    assert!(!described.contains("Events:  <none>"), "{described}");
    assert!(described.contains("Created"), "{described}");
    drop(sandbox);
    assert!(!dir.exists(), "the sandbox's files are removed");
}
