//! `ecs-operator run` as a process: configured by environment, killed mid-reconcile, restarted.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ecs_operator::api::EcsTaskDefinition;
use kube::api::{Api, PostParams};
use serde_json::json;

fn operator(kubeconfig: &std::path::Path, aws_endpoint: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ecs-operator"))
        .arg("run")
        .env("KUBECONFIG", kubeconfig)
        .env("ECS_OPERATOR_AWS_ENDPOINT_URL", aws_endpoint)
        .env("ECS_OPERATOR_AWS_REGION", "us-east-1")
        .env("ECS_OPERATOR_MAX_BACKOFF_SECONDS", "1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "warn")
        // One process, restarted: no Lease to wait for, and no fixed admin port to collide on.
        .env("ECS_OPERATOR_LEADER_ELECTION", "false")
        .env("ECS_OPERATOR_ADMIN_BIND_ADDRESS", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ecs-operator starts")
}

async fn knob(url: &str, method: &str, body: serde_json::Value) {
    let (status, _) = ecs_testbed::http::send(
        &ecs_testbed::http::client(),
        method,
        &format!("{url}/_emulator/fail"),
        &[],
        body.to_string().into(),
    )
    .await
    .expect("knob");
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_register_and_status_write_registers_once() {
    let (proxy, _) = common::moto_proxy().await;
    let (kube, client) = common::emulator_with_crds().await;
    let dir = std::env::temp_dir().join(format!("ecs-operator-binary-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let kubeconfig = kube
        .write_kubeconfig(&dir.join("kubeconfig"))
        .expect("kubeconfig");

    // Every status write fails for now: the operator can register but never record it.
    knob(kube.url(), "POST", json!({"verb": "patch", "resource": "ecstaskdefinitions", "status": 500, "count": 1_000_000})).await;
    let tds: Api<EcsTaskDefinition> = Api::namespaced(client.clone(), "default");
    let mut object: EcsTaskDefinition = serde_json::from_value(json!({
        "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsTaskDefinition", "metadata": {"name": "killed"},
        "spec": {"networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
                 "containerDefinitions": [{"name": "app", "image": "nginx:1"}]}
    }))
    .expect("object");
    object.metadata.finalizers = Some(vec![
        ecs_operator::controller::task_definition::FINALIZER.to_owned(),
    ]);
    tds.create(&PostParams::default(), &object)
        .await
        .expect("created");

    let mut first = operator(&kubeconfig, proxy.url());
    let deadline = Instant::now() + Duration::from_secs(60);
    while proxy.count("RegisterTaskDefinition") == 0 {
        assert!(Instant::now() < deadline, "the operator never registered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill().expect("kill -9");
    let _ = first.wait();
    assert!(
        tds.get("killed").await.expect("object").status.is_none(),
        "nothing was recorded"
    );

    knob(kube.url(), "DELETE", json!({})).await;
    let mut second = operator(&kubeconfig, proxy.url());
    let deadline = Instant::now() + Duration::from_secs(60);
    let ready = loop {
        let object = tds.get("killed").await.expect("object");
        let ready = object.status.as_ref().is_some_and(|s| {
            s.reconcile
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        });
        if ready {
            break object;
        }
        assert!(
            Instant::now() < deadline,
            "never Ready after the restart: {:?}",
            object.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        proxy.count("RegisterTaskDefinition"),
        1,
        "the restarted operator adopted the revision"
    );
    assert_eq!(ready.status.and_then(|s| s.revision), Some(1));

    // SIGTERM stops it cleanly.
    let pid = second.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = second.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "ecs-operator ignored SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn run_without_a_cluster_fails_with_a_clear_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_ecs-operator"))
        .arg("run")
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot reach Kubernetes"));
}

#[test]
fn the_readme_documents_every_run_flag() {
    let output = Command::new(env!("CARGO_BIN_EXE_ecs-operator"))
        .args(["run", "--help"])
        .output()
        .expect("runs");
    let help = String::from_utf8_lossy(&output.stdout);
    let readme = std::fs::read_to_string(common::root().join("README.md")).expect("README");
    let flags: Vec<&str> = help
        .split_whitespace()
        .filter(|word| word.starts_with("--") && word.len() > 2)
        .map(|word| word.trim_end_matches([',', '=', '.']))
        .filter(|flag| !matches!(*flag, "--help" | "--version"))
        .collect();
    assert!(flags.len() > 20, "{help}");
    for flag in flags {
        assert!(
            readme.contains(&format!("`{flag}`")),
            "README.md does not document {flag}"
        );
    }
}
