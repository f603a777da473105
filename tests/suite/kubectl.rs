//! The real `kubectl` against the Kubernetes API emulator, with the operator's CRDs and examples.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use ecs_testbed::kube::emulator::KubeApi;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;

struct Kubectl {
    kubeconfig: PathBuf,
}

impl Kubectl {
    fn run(&self, args: &[&str]) -> Output {
        Command::new("kubectl")
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("kubectl runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "kubectl {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

async fn setup(name: &str) -> (KubeApi, Kubectl, Client) {
    let api = KubeApi::start(None).await.expect("emulator");
    let dir = std::env::temp_dir().join(format!(
        "ecs-operator-kubectl-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let kubeconfig = api
        .write_kubeconfig(&dir.join("kubeconfig"))
        .expect("kubeconfig");
    let client =
        Client::try_from(kube::Config::new(api.url().parse().expect("url"))).expect("client");
    let kubectl = Kubectl { kubeconfig };
    let blocking = |k: &Kubectl| k.ok(&["apply", "-f", "crds/"]);
    let out = tokio::task::block_in_place(|| blocking(&kubectl));
    assert!(
        out.contains("ecsservices.ecs.operator.dev created"),
        "{out}"
    );
    (api, kubectl, client)
}

fn dynamic(client: &Client, plural: &str, kind: &str) -> Api<DynamicObject> {
    let resource = kube::api::ApiResource {
        group: "ecs.operator.dev".into(),
        version: "v1alpha1".into(),
        api_version: "ecs.operator.dev/v1alpha1".into(),
        kind: kind.into(),
        plural: plural.into(),
    };
    Api::namespaced_with(client.clone(), "default", &resource)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_get_explain_and_admission() {
    let (_api, kubectl, _client) = setup("apply").await;
    tokio::task::block_in_place(|| {
        let out = kubectl.ok(&["apply", "-f", "examples/task-definitions/"]);
        assert!(
            out.contains("ecstaskdefinition.ecs.operator.dev/basic created"),
            "{out}"
        );
        // Applying the same files again changes nothing.
        let out = kubectl.ok(&["apply", "-f", "examples/task-definitions/basic.yaml"]);
        assert!(out.contains("unchanged"), "{out}");

        let out = kubectl.ok(&[
            "apply",
            "--server-side",
            "-f",
            "examples/services/web-service.yaml",
        ]);
        assert!(out.contains("serverside-applied"), "{out}");

        let table = kubectl.ok(&["get", "ecstd"]);
        let header = table.lines().next().unwrap_or_default();
        for column in ["NAME", "FAMILY", "REVISION", "READY", "AGE"] {
            assert!(header.contains(column), "{table}");
        }
        assert!(table.contains("production-app"), "{table}");
        // AGE is an age ("3s"), as the API server sends date columns, not a timestamp.
        let row = table
            .lines()
            .find(|l| l.starts_with("production-app"))
            .unwrap_or_default();
        let age = row.split_whitespace().last().unwrap_or_default();
        assert!(
            age.ends_with('s') && age[..age.len() - 1].parse::<u32>().is_ok(),
            "{table}"
        );
        let services = kubectl.ok(&["get", "ecssvc"]);
        for column in ["CLUSTER", "DESIRED", "RUNNING", "TASK DEFINITION"] {
            assert!(services.contains(column), "{services}");
        }
        let all = kubectl.ok(&["get", "ecs"]);
        assert!(
            all.contains("ecstaskdefinition.ecs.operator.dev/basic")
                && all.contains("ecsservice.ecs.operator.dev/web-service"),
            "{all}"
        );

        let yaml = kubectl.ok(&["get", "ecstd", "basic", "-o", "yaml"]);
        assert!(
            yaml.contains("image: nginx:latest") && yaml.contains("uid:"),
            "{yaml}"
        );

        let explained = kubectl.ok(&["explain", "ecstaskdefinition.spec.revisionHistoryLimit"]);
        assert!(explained.contains("deregistered"), "{explained}");

        // An invalid object is rejected at admission, with the field named.
        let manifest = "apiVersion: ecs.operator.dev/v1alpha1\nkind: EcsService\nmetadata:\n  name: broken\nspec:\n  cluster: prod\n  taskDefinition: web:1\n  taskDefinitionRef: {name: web}\n";
        let path = kubectl.kubeconfig.with_file_name("broken.yaml");
        std::fs::write(&path, manifest).expect("write");
        let rejected = kubectl.run(&["apply", "-f", path.to_str().expect("path")]);
        assert!(!rejected.status.success());
        let stderr = String::from_utf8_lossy(&rejected.stderr);
        assert!(
            stderr.contains("exactly one of taskDefinitionRef"),
            "{stderr}"
        );
        let manifest = "apiVersion: ecs.operator.dev/v1alpha1\nkind: EcsScalingPolicy\nmetadata:\n  name: broken\nspec:\n  resourceId: service/prod/web\n  minCapacity: -1\n  maxCapacity: 2\n";
        std::fs::write(&path, manifest).expect("write");
        let rejected = kubectl.run(&["apply", "-f", path.to_str().expect("path")]);
        let stderr = String::from_utf8_lossy(&rejected.stderr);
        assert!(
            !rejected.status.success() && stderr.contains("spec.minCapacity"),
            "{stderr}"
        );
        // A traffic-shifting strategy behind a target group without the alternate target group
        // and listener rule is refused at admission, naming the field.
        let manifest = "apiVersion: ecs.operator.dev/v1alpha1\nkind: EcsService\nmetadata:\n  name: broken-bg\nspec:\n  cluster: prod\n  taskDefinition: web:1\n  deploymentConfiguration: {strategy: BLUE_GREEN, bakeTimeInMinutes: 5}\n  loadBalancers:\n  - {targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1', containerName: app, containerPort: 80}\n";
        std::fs::write(&path, manifest).expect("write");
        let rejected = kubectl.run(&["apply", "-f", path.to_str().expect("path")]);
        let stderr = String::from_utf8_lossy(&rejected.stderr);
        assert!(
            !rejected.status.success()
                && stderr.contains("spec.loadBalancers")
                && stderr.contains("alternateTargetGroupArn, productionListenerRule and roleArn"),
            "{stderr}"
        );
        // With the advanced configuration it is admitted.
        let manifest = manifest.replace(
            "containerPort: 80}",
            "containerPort: 80, advancedConfiguration: {alternateTargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/2', productionListenerRule: 'arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/app/a/1/2/3', roleArn: 'arn:aws:iam::1:role/ecs-elb'}}",
        );
        std::fs::write(&path, manifest).expect("write");
        kubectl.ok(&["apply", "-f", path.to_str().expect("path")]);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_ready_and_delete_with_finalizer() {
    let (_api, kubectl, client) = setup("wait").await;
    tokio::task::block_in_place(|| {
        kubectl.ok(&["apply", "-f", "examples/task-definitions/basic.yaml"])
    });
    let tds = dynamic(&client, "ecstaskdefinitions", "EcsTaskDefinition");

    // A stand-in controller marks it Ready shortly after kubectl starts waiting.
    let marker = tds.clone();
    let ready = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let status = json!({"status": {"observedGeneration": 1, "conditions": [{
            "type": "Ready", "status": "True", "reason": "Registered", "message": "revision 1",
            "lastTransitionTime": "2026-11-27T00:00:00Z", "observedGeneration": 1}]}});
        marker
            .patch_status("basic", &PatchParams::default(), &Patch::Merge(status))
            .await
            .expect("status");
    });
    let out = tokio::task::block_in_place(|| {
        kubectl.ok(&[
            "wait",
            "--for=condition=Ready",
            "ecstd/basic",
            "--timeout=30s",
        ])
    });
    assert!(out.contains("condition met"), "{out}");
    ready.await.expect("marker");

    // With a finalizer, `kubectl delete` waits until the finalizer is removed.
    tds.patch(
        "basic",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": ["ecs.operator.dev/cleanup"]}})),
    )
    .await
    .expect("finalizer");
    let finalizer = tds.clone();
    let remover = tokio::spawn(async move {
        loop {
            let object = finalizer
                .get("basic")
                .await
                .expect("exists until finalized");
            if object.metadata.deletion_timestamp.is_some() {
                finalizer
                    .patch(
                        "basic",
                        &PatchParams::default(),
                        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
                    )
                    .await
                    .expect("finalizer removed");
                return object.name_any();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let out =
        tokio::task::block_in_place(|| kubectl.ok(&["delete", "ecstd/basic", "--timeout=30s"]));
    assert!(out.contains("deleted"), "{out}");
    assert_eq!(remover.await.expect("remover"), "basic");
    let gone = tokio::task::block_in_place(|| kubectl.run(&["get", "ecstd/basic"]));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("NotFound"));
}

/// What the operator's recorder writes (events.k8s.io/v1) is what `kubectl describe` reads (core
/// v1 Events selected by involvedObject): one resource in two versions, as on a real API server.
/// Two different messages under one reason are two Events, not "(x2)" of the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_shows_the_events_the_recorder_wrote() {
    use ecs_operator::controller::events::EventRecorder;
    use ecs_operator::controller::pipeline::Note;
    let (_api, kubectl, client) = setup("describe").await;
    tokio::task::block_in_place(|| {
        kubectl.ok(&["apply", "-f", "examples/services/web-service.yaml"]);
    });
    let services: Api<ecs_operator::api::EcsService> = Api::namespaced(client.clone(), "default");
    let service = services.get("web-service").await.expect("object");
    let recorder = EventRecorder::new(
        client.clone(),
        "ecs-operator",
        Some("ecs-operator-0".into()),
    );
    let reference = service.object_ref(&());
    for (reason, note) in [
        (
            "ServiceEvent",
            "(service web-service) has started 2 tasks: (task a1).",
        ),
        (
            "ServiceEvent",
            "(service web-service) has reached a steady state.",
        ),
        ("Deploying", "rolling web-service to web:2"),
    ] {
        // As the operator publishes them (runner::publish).
        recorder
            .publish(&Note::normal(reason, note).event(), &reference)
            .await
            .expect("published");
    }
    let described =
        tokio::task::block_in_place(|| kubectl.ok(&["describe", "ecssvc", "web-service"]));
    assert!(!described.contains("Events:  <none>"), "{described}");
    for note in [
        "has started 2 tasks",
        "has reached a steady state",
        "rolling web-service to web:2",
    ] {
        assert!(described.contains(note), "{note}:\n{described}");
    }
    assert!(
        described.contains("ecs-operator"),
        "From column: {described}"
    );
    // Both versions list the same Events.
    let core = tokio::task::block_in_place(|| {
        kubectl.ok(&["get", "events.v1.", "-o", "jsonpath={.items[*].message}"])
    });
    let new = tokio::task::block_in_place(|| {
        kubectl.ok(&[
            "get",
            "events.v1.events.k8s.io",
            "-o",
            "jsonpath={.items[*].note}",
        ])
    });
    assert_eq!(core, new);
    assert!(core.contains("rolling web-service to web:2"), "{core}");
    // Each version's field selectors, on the list of either version.
    for (resource, selector) in [
        (
            "events.v1.events.k8s.io",
            "regarding.name=web-service,reason=Deploying",
        ),
        (
            "events.v1.",
            "involvedObject.name=web-service,reason=Deploying",
        ),
        ("events.v1.", "source=ecs-operator,reason=Deploying"),
        (
            "events.v1.events.k8s.io",
            "source=ecs-operator,reason=Deploying",
        ),
    ] {
        let names = tokio::task::block_in_place(|| {
            kubectl.ok(&["get", resource, "--field-selector", selector, "-o", "name"])
        });
        assert_eq!(names.lines().count(), 1, "{resource} {selector}: {names}");
    }
}
