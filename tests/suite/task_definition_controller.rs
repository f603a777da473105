//! EcsTaskDefinition controller end to end: a real Kubernetes API server (`common::cluster()`; the
//! emulator where a test needs its fault knobs) + the controller + AWS proxy + moto, driven by the
//! kube client and kubectl.

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ecs_operator::api::EcsTaskDefinition;
use ecs_operator::aws::{AwsClients, AwsSettings};
use ecs_operator::controller::runner;
use ecs_operator::controller::{Context, ControllerConfig, task_definition};
use ecs_operator::translate::tags;
use ecs_testbed::{AwsProxy, Fault, FaultRule};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

struct Bed {
    cluster: common::Cluster,
    client: Client,
    proxy: AwsProxy,
    aws: AwsClients,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    controller: Option<tokio::task::JoinHandle<()>>,
}

impl Bed {
    /// On the suite's cluster (the real control plane here).
    async fn start() -> Self {
        Self::start_configured(1, Duration::from_secs(300)).await
    }

    async fn start_with_attempts(max_attempts: u32) -> Self {
        Self::start_configured(max_attempts, Duration::from_secs(300)).await
    }

    /// `max_attempts` is the AWS layer's retry budget per call (1: no retries); `resync` how often
    /// settled objects are checked for drift.
    async fn start_configured(max_attempts: u32, resync: Duration) -> Self {
        Self::on(common::cluster().await, max_attempts, resync).await
    }

    /// On the emulator, for tests that need its fault knobs (failing writes on demand).
    async fn start_on_emulator() -> Self {
        Self::on(
            common::emulator_cluster().await,
            1,
            Duration::from_secs(300),
        )
        .await
    }

    async fn on(cluster: common::Cluster, max_attempts: u32, resync: Duration) -> Self {
        let (proxy, _) = common::moto_proxy().await;
        let aws = AwsClients::connect(&AwsSettings {
            region: Some("us-east-1".into()),
            endpoint_url: Some(proxy.url().to_owned()),
            max_attempts,
            static_credentials: Some(("testing".into(), "testing".into())),
            budgets: BTreeMap::new(),
            batch_window: Duration::from_millis(5),
        })
        .await;
        let mut bed = Self {
            client: cluster.client.clone(),
            cluster,
            proxy,
            aws,
            stop: None,
            controller: None,
        };
        bed.start_controller_with_resync(resync);
        bed
    }

    fn namespace(&self) -> &str {
        &self.cluster.namespace
    }

    fn start_controller(&mut self) {
        self.start_controller_with_resync(Duration::from_secs(300));
    }

    fn start_controller_with_resync(&mut self, resync: Duration) {
        let config = ControllerConfig {
            namespace: Some(self.namespace().to_owned()),
            resync,
            max_backoff: Duration::from_secs(2),
            poll: Duration::from_millis(500),
            read_only: false,
            concurrency: 8,
            ..Default::default()
        };
        let ctx = Arc::new(Context::new(
            self.client.clone(),
            self.aws.clone(),
            config,
            "ecs-operator-test",
        ));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        self.stop = Some(stop);
        self.controller = Some(tokio::spawn(runner::run(
            task_definition::TaskDefinitions,
            ctx,
            async move {
                let _ = stopped.await;
            },
        )));
    }

    async fn stop_controller(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.controller.take() {
            tokio::time::timeout(Duration::from_secs(20), handle)
                .await
                .expect("controller stops")
                .expect("no panic");
        }
    }

    /// The emulator's URL (only for beds started on it).
    fn emulator_url(&self) -> String {
        self.cluster
            .emulator_url()
            .expect("started on the emulator")
    }

    fn tds(&self) -> Api<EcsTaskDefinition> {
        Api::namespaced(self.client.clone(), self.namespace())
    }

    async fn create(&self, name: &str, spec: Value) -> EcsTaskDefinition {
        let object: EcsTaskDefinition = serde_json::from_value(json!({
            "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsTaskDefinition", "metadata": {"name": name}, "spec": spec
        }))
        .expect("object");
        self.tds()
            .create(&PostParams::default(), &object)
            .await
            .expect("created")
    }

    /// Polls until `check` holds for the object (or panics after a minute).
    async fn wait_for(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&EcsTaskDefinition) -> bool,
    ) -> EcsTaskDefinition {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(object) = self.tds().get(name).await {
                if check(&object) {
                    return object;
                }
                if Instant::now() > deadline {
                    panic!("{name}: never {what}; last status: {:#?}", object.status);
                }
            } else if Instant::now() > deadline {
                panic!("{name}: never {what}; object missing");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_ready(&self, name: &str) -> EcsTaskDefinition {
        self.wait_for(name, "Ready", |o| {
            condition(o, "Ready") == Some("True")
                && o.status
                    .as_ref()
                    .and_then(|s| s.reconcile.observed_generation)
                    == o.metadata.generation
        })
        .await
    }

    async fn events(&self, name: &str) -> Vec<(String, String, String)> {
        common::events_of(&self.client, self.namespace(), name).await
    }

    /// The Events of `name` once one satisfies `check`.
    async fn wait_event(
        &self,
        name: &str,
        check: impl Fn(&(String, String, String)) -> bool,
    ) -> Vec<(String, String, String)> {
        common::wait_event(&self.client, self.namespace(), name, check).await
    }

    async fn describe(&self, arn: &str) -> Value {
        let http = ecs_testbed::http::client();
        let (status, body) = ecs_testbed::http::send(
            &http,
            "POST",
            &format!("{}/", self.proxy.url()),
            &[
                ("x-amz-target", "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition"),
                ("content-type", "application/x-amz-json-1.1"),
                ("authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=0"),
            ],
            json!({"taskDefinition": arn, "include": ["TAGS"]}).to_string().into(),
        )
        .await
        .expect("describe");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).expect("json")
    }
}

fn condition<'a>(object: &'a EcsTaskDefinition, type_: &str) -> Option<&'a str> {
    object
        .status
        .as_ref()?
        .reconcile
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status.as_str())
}

fn fargate(image: &str) -> Value {
    json!({"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
           "containerDefinitions": [{"name": "app", "image": image, "portMappings": [{"containerPort": 80}]}]})
}

/// Every member of `expected` is in `actual` with the same value (AWS adds defaults of its own).
fn assert_contains(actual: &Value, expected: &Value, path: &str) {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            for (key, value) in e {
                let found = a
                    .get(key)
                    .unwrap_or_else(|| panic!("{path}.{key} missing in {actual}"));
                assert_contains(found, value, &format!("{path}.{key}"));
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            assert_eq!(a.len(), e.len(), "{path}");
            for (i, (x, y)) in a.iter().zip(e).enumerate() {
                assert_contains(x, y, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(actual, expected, "{path}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn examples_applied_with_kubectl_become_ready_and_match_aws() {
    let mut bed = Bed::start().await;
    let kubeconfig = bed.cluster.kubeconfig.clone();
    let namespace = bed.namespace().to_owned();
    let kubectl = |args: &[&str]| {
        let output = std::process::Command::new("kubectl")
            .args(args)
            .args(["--namespace", &namespace])
            .env("KUBECONFIG", &kubeconfig)
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
    tokio::task::block_in_place(|| kubectl(&["apply", "-f", "examples/task-definitions/"]));
    let out = tokio::task::block_in_place(|| {
        kubectl(&[
            "wait",
            "--for=condition=Ready",
            "ecstd",
            "--all",
            "--timeout=90s",
        ])
    });
    assert_eq!(out.matches("condition met").count(), 7, "{out}");

    let (objects, _) = ecs_operator::render::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/task-definitions"),
    )
    .expect("examples");
    let rendered = ecs_operator::render::render(&objects);
    for request in rendered.requests {
        let object = bed.tds().get(&request.name).await.expect("object");
        let status = object.status.expect("status");
        let described = bed
            .describe(status.task_definition_arn.as_deref().expect("arn"))
            .await;
        assert_contains(&described["taskDefinition"], &request.input, &request.name);
        let found: Vec<ecs_operator::api::common::Tag> =
            serde_json::from_value(described["tags"].clone()).expect("tags");
        assert!(
            tags::is_owned_by(&found, &object.metadata.uid.clone().expect("uid")),
            "{}",
            request.name
        );
        assert_eq!(
            tags::value(&found, tags::CONTENT_HASH),
            status.content_hash.as_deref()
        );
    }
    assert_eq!(bed.proxy.count("RegisterTaskDefinition"), 7);
    bed.stop_controller().await;
}

#[tokio::test]
async fn edits_register_one_revision_and_history_is_trimmed() {
    let mut bed = Bed::start().await;
    // A revision of the same family registered by someone else must never be touched.
    let foreign = ecs_operator::translate::task_definition::register_request(
        "web",
        &serde_json::from_value(fargate("foreign:1")).expect("spec"),
    )
    .expect("request");
    let foreign_arn = bed
        .aws
        .ecs
        .register_task_definition(&foreign, &[])
        .await
        .expect("foreign")
        .arn;

    let mut spec = fargate("nginx:1");
    spec["revisionHistoryLimit"] = json!(2);
    bed.create("web", spec).await;
    let first = bed.wait_ready("web").await.status.expect("status");
    assert_eq!(
        bed.proxy.count("RegisterTaskDefinition"),
        2,
        "the foreign one and ours"
    );

    for (i, image) in ["nginx:2", "nginx:3"].iter().enumerate() {
        bed.proxy.clear();
        bed.tds().patch("web", &PatchParams::default(), &Patch::Merge(json!({"spec": {"containerDefinitions": [{"name": "app", "image": image, "portMappings": [{"containerPort": 80}]}]}})))
            .await
            .expect("edit");
        let generation = 2 + i as i64;
        let object = bed
            .wait_for("web", "ready at the new generation", |o| {
                o.status
                    .as_ref()
                    .and_then(|s| s.reconcile.observed_generation)
                    == Some(generation)
                    && condition(o, "Ready") == Some("True")
            })
            .await;
        assert_eq!(
            bed.proxy.count("RegisterTaskDefinition"),
            1,
            "exactly one new revision for {image}"
        );
        let status = object.status.expect("status");
        assert_eq!(status.registered_revisions.len(), (2 + i).min(2));
    }
    // Revision history limit 2: the first revision we registered is deregistered, the foreign one not.
    let described = bed
        .describe(first.task_definition_arn.as_deref().expect("arn"))
        .await;
    assert_eq!(described["taskDefinition"]["status"], "INACTIVE");
    assert_eq!(
        bed.describe(&foreign_arn).await["taskDefinition"]["status"],
        "ACTIVE"
    );
    // The Event follows the deregistration it reports (the status may be read before it lands).
    let reasons: Vec<String> = bed
        .wait_event("web", |(_, reason, _)| reason == "Deregistered")
        .await
        .into_iter()
        .map(|(_, reason, _)| reason)
        .collect();
    assert!(reasons.contains(&"Registered".to_owned()), "{reasons:?}");
    bed.stop_controller().await;
}

#[tokio::test]
async fn identical_content_and_label_changes_cost_no_writes() {
    let mut bed = Bed::start().await;
    bed.create("same", fargate("nginx:1")).await;
    let ready = bed.wait_ready("same").await;
    bed.proxy.clear();
    // Equal meaning written differently (cpu as a number, defaults spelled out) and a label.
    bed.tds()
        .patch("same", &PatchParams::default(), &Patch::Merge(json!({
            "metadata": {"labels": {"team": "web"}},
            "spec": {"cpu": 256, "containerDefinitions": [{"name": "app", "image": "nginx:1", "essential": true, "portMappings": [{"containerPort": 80, "protocol": "tcp"}]}]}
        })))
        .await
        .expect("patch");
    let generation = ready.metadata.generation.expect("generation") + 1;
    let after = bed
        .wait_for("same", "observed", |o| {
            o.status
                .as_ref()
                .and_then(|s| s.reconcile.observed_generation)
                == Some(generation)
        })
        .await;
    assert_eq!(
        after
            .status
            .as_ref()
            .and_then(|s| s.task_definition_arn.clone()),
        ready
            .status
            .as_ref()
            .and_then(|s| s.task_definition_arn.clone())
    );
    let writes: Vec<String> = bed
        .proxy
        .requests()
        .into_iter()
        .map(|r| r.operation)
        .filter(|op| op.starts_with("Register") || op.starts_with("Deregister"))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    bed.stop_controller().await;
}

#[tokio::test]
async fn delete_honours_the_deletion_policy() {
    let mut bed = Bed::start().await;
    bed.create("gone", fargate("nginx:1")).await;
    let mut kept_spec = fargate("nginx:1");
    kept_spec["family"] = json!("kept");
    kept_spec["deletionPolicy"] = json!("Retain");
    bed.create("kept", kept_spec).await;
    let gone_arn = bed
        .wait_ready("gone")
        .await
        .status
        .and_then(|s| s.task_definition_arn)
        .expect("arn");
    let kept_arn = bed
        .wait_ready("kept")
        .await
        .status
        .and_then(|s| s.task_definition_arn)
        .expect("arn");
    for name in ["gone", "kept"] {
        bed.tds()
            .delete(name, &DeleteParams::default())
            .await
            .expect("delete");
    }
    for name in ["gone", "kept"] {
        let deadline = Instant::now() + Duration::from_secs(60);
        while bed.tds().get(name).await.is_ok() {
            assert!(Instant::now() < deadline, "{name} never went away");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(
        bed.describe(&gone_arn).await["taskDefinition"]["status"],
        "INACTIVE"
    );
    assert_eq!(
        bed.describe(&kept_arn).await["taskDefinition"]["status"],
        "ACTIVE"
    );
    bed.stop_controller().await;
}

#[tokio::test]
async fn an_invalid_spec_stalls_with_an_event_and_no_aws_call() {
    let mut bed = Bed::start().await;
    let mut spec = fargate("nginx:1");
    spec["memory"] = json!("4096"); // not valid with cpu 256 on Fargate; the schema cannot say so
    bed.create("bad", spec).await;
    let stalled = bed
        .wait_for("bad", "Stalled", |o| {
            condition(o, "Stalled") == Some("True")
        })
        .await;
    let message = stalled
        .status
        .as_ref()
        .and_then(|s| s.reconcile.conditions.iter().find(|c| c.type_ == "Stalled"))
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert!(message.contains("spec.memory"), "{message}");
    assert_eq!(condition(&stalled, "Ready"), Some("False"));
    bed.wait_event("bad", |(type_, reason, note)| {
        type_ == "Warning" && reason == "InvalidSpec" && note.contains("spec.memory")
    })
    .await;
    assert!(
        bed.proxy.requests().is_empty(),
        "no AWS call: {:?}",
        bed.proxy.requests()
    );
    bed.stop_controller().await;
}

#[tokio::test]
async fn a_failed_status_write_after_registering_is_adopted_not_repeated() {
    let mut bed = Bed::start_on_emulator().await;
    // The object already carries the finalizer, so the first patch the controller sends is the
    // status write right after RegisterTaskDefinition: make it fail, as a crash there would.
    let http = ecs_testbed::http::client();
    let (status, _) = ecs_testbed::http::send(
        &http,
        "POST",
        &format!("{}/_emulator/fail", bed.emulator_url()),
        &[],
        json!({"verb": "patch", "resource": "ecstaskdefinitions", "status": 500, "count": 1})
            .to_string()
            .into(),
    )
    .await
    .expect("knob");
    assert_eq!(status, 200);
    let mut object: EcsTaskDefinition = serde_json::from_value(json!({"apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsTaskDefinition", "metadata": {"name": "crashy"}, "spec": fargate("nginx:1")})).expect("object");
    object.metadata.finalizers = Some(vec![task_definition::FINALIZER.to_owned()]);
    bed.tds()
        .create(&PostParams::default(), &object)
        .await
        .expect("created");
    let ready = bed.wait_ready("crashy").await;
    assert_eq!(
        bed.proxy.count("RegisterTaskDefinition"),
        1,
        "one revision, adopted after the failed status write"
    );
    assert_eq!(
        ready.status.as_ref().map(|s| s.registered_revisions.len()),
        Some(1)
    );
    // The Event follows the status write that records the adoption.
    bed.wait_event("crashy", |(_, reason, _)| reason == "Adopted")
        .await;
    bed.stop_controller().await;
}

#[tokio::test]
async fn a_new_object_registers_without_a_scan_and_a_lost_answer_is_adopted() {
    // The pass that adds the finalizer knows nothing of the object's can be in ECS: it registers
    // without listing the family first. Its answer is lost: the next pass (not a first one)
    // lists the family, finds the revision by the object's UID and adopts it.
    let mut bed = Bed::start().await;
    bed.proxy.set_faults(vec![fault(
        "ecs:RegisterTaskDefinition",
        Some(1),
        Fault::DropResponse,
    )]);
    bed.create("fresh", fargate("nginx:1")).await;
    let ready = bed.wait_ready("fresh").await;
    let calls: Vec<(String, bool)> = bed
        .proxy
        .requests()
        .into_iter()
        .filter(|r| r.operation.contains("TaskDefinition"))
        .map(|r| (r.operation, r.fault.is_some()))
        .collect();
    assert_eq!(
        calls.first(),
        Some(&("RegisterTaskDefinition".to_owned(), true)),
        "registered before any listing, the answer lost: {calls:?}"
    );
    assert_eq!(bed.proxy.count("RegisterTaskDefinition"), 1, "{calls:?}");
    assert!(
        calls.iter().any(|(op, _)| op == "ListTaskDefinitions"),
        "the next pass looked: {calls:?}"
    );
    let status = ready.status.expect("status");
    assert_eq!(status.revision, Some(1));
    assert_eq!(status.registered_revisions.len(), 1);
    bed.stop_controller().await;
}

#[tokio::test]
async fn a_restarted_operator_adopts_instead_of_registering_again() {
    let mut bed = Bed::start().await;
    bed.create("restart", fargate("nginx:1")).await;
    let ready = bed.wait_ready("restart").await;
    bed.stop_controller().await;
    // Lose the status, as if the process had died before writing it, then start a new process.
    bed.tds()
        .patch_status(
            "restart",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": null})),
        )
        .await
        .expect("status cleared");
    bed.proxy.clear();
    bed.start_controller();
    let again = bed.wait_ready("restart").await;
    assert_eq!(bed.proxy.count("RegisterTaskDefinition"), 0);
    assert_eq!(
        again.status.and_then(|s| s.task_definition_arn),
        ready.status.and_then(|s| s.task_definition_arn)
    );
    bed.stop_controller().await;
}

#[tokio::test]
async fn drift_is_repaired_with_a_warning() {
    // A short resync: drift is found by the periodic check, not by watch events.
    let mut bed = Bed::start_configured(1, Duration::from_millis(500)).await;
    bed.create("drifty", fargate("nginx:1")).await;
    let ready = bed.wait_ready("drifty").await;
    let arn = ready
        .status
        .as_ref()
        .and_then(|s| s.task_definition_arn.clone())
        .expect("arn");
    bed.aws
        .ecs
        .deregister_task_definition(&arn)
        .await
        .expect("deregistered outside the operator");
    // Nothing changes in Kubernetes: the periodic resync finds the drift.
    let repaired = bed
        .wait_for("drifty", "re-registered", |o| {
            o.status
                .as_ref()
                .and_then(|s| s.task_definition_arn.clone())
                .is_some_and(|a| a != arn)
        })
        .await;
    let new_arn = repaired
        .status
        .and_then(|s| s.task_definition_arn)
        .expect("arn");
    assert_eq!(
        bed.describe(&new_arn).await["taskDefinition"]["status"],
        "ACTIVE"
    );
    bed.wait_event("drifty", |(type_, reason, _)| {
        type_ == "Warning" && reason == "Drift"
    })
    .await;
    bed.stop_controller().await;
}

#[tokio::test]
async fn converges_through_throttling_on_every_second_call() {
    // As in production: the SDK's standard retry (3 attempts, backoff with jitter) absorbs
    // throttling first, the controller's own backoff what is left.
    let mut bed = Bed::start_with_attempts(3).await;
    bed.proxy.set_faults(vec![FaultRule {
        operation: "ecs:*".into(),
        probability: None,
        every_nth: Some(2),
        max_times: None,
        fault: Fault::Throttle,
    }]);
    for i in 0..3 {
        let mut spec = fargate(&format!("nginx:{i}"));
        spec["family"] = json!(format!("throttled-{i}"));
        bed.create(&format!("throttled-{i}"), spec).await;
    }
    for i in 0..3 {
        bed.wait_ready(&format!("throttled-{i}")).await;
    }
    let throttled = bed
        .proxy
        .requests()
        .iter()
        .filter(|r| r.fault.is_some())
        .count();
    assert!(throttled > 0, "faults were injected");
    let registered = bed
        .proxy
        .requests()
        .iter()
        .filter(|r| r.operation == "RegisterTaskDefinition" && r.status == 200)
        .count();
    assert_eq!(registered, 3, "one revision each, despite retries");
    bed.stop_controller().await;
}

#[tokio::test]
async fn the_object_gets_a_finalizer_and_owner_readable_status() {
    let mut bed = Bed::start().await;
    bed.create("shape", fargate("nginx:1")).await;
    let ready = bed.wait_ready("shape").await;
    assert!(
        ready
            .finalizers()
            .iter()
            .any(|f| f == task_definition::FINALIZER)
    );
    let status = ready.status.expect("status");
    assert_eq!(status.family.as_deref(), Some("web"));
    assert_eq!(status.revision, Some(1));
    let types: Vec<&str> = status
        .reconcile
        .conditions
        .iter()
        .map(|c| c.type_.as_str())
        .collect();
    assert_eq!(types, ["Ready", "Reconciling", "Stalled"]);
    bed.stop_controller().await;
}

#[tokio::test]
async fn a_terminal_aws_error_stalls_with_the_aws_code_and_message() {
    let mut bed = Bed::start().await;
    bed.proxy.set_faults(vec![FaultRule {
        operation: "RegisterTaskDefinition".into(),
        probability: None,
        every_nth: None,
        max_times: None,
        fault: Fault::AwsError {
            status: 400,
            code: "ClientException".into(),
            message: "Invalid 'cpu' setting for task.".into(),
        },
    }]);
    bed.create("rejected", fargate("nginx:1")).await;
    let stalled = bed
        .wait_for("rejected", "Stalled", |o| {
            condition(o, "Stalled") == Some("True")
        })
        .await;
    let message = stalled
        .status
        .as_ref()
        .and_then(|s| s.reconcile.conditions.iter().find(|c| c.type_ == "Stalled"))
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert!(
        message.contains("ClientException") && message.contains("Invalid 'cpu' setting"),
        "{message}"
    );
    bed.wait_event("rejected", |(type_, reason, _)| {
        type_ == "Warning" && reason == "AwsRejected"
    })
    .await;
    // Terminal means no retry loop: the next attempt comes at the resync interval (300 s here) or
    // with a spec change, whichever is first.
    assert_eq!(bed.proxy.count("RegisterTaskDefinition"), 1);
    bed.proxy.set_faults(Vec::new());
    bed.tds()
        .patch("rejected", &PatchParams::default(), &Patch::Merge(json!({"spec": {"containerDefinitions": [{"name": "app", "image": "nginx:2", "portMappings": [{"containerPort": 80}]}]}})))
        .await
        .expect("fixed");
    bed.wait_ready("rejected").await;
    assert_eq!(bed.proxy.count("RegisterTaskDefinition"), 2);
    bed.stop_controller().await;
}

fn fault(operation: &str, max_times: Option<u64>, fault: Fault) -> FaultRule {
    FaultRule {
        operation: operation.into(),
        probability: None,
        every_nth: None,
        max_times,
        fault,
    }
}

fn client_exception(message: &str) -> Fault {
    Fault::AwsError {
        status: 400,
        code: "ClientException".into(),
        message: message.into(),
    }
}

fn reasons(events: &[(String, String, String)]) -> Vec<String> {
    events.iter().map(|(_, reason, _)| reason.clone()).collect()
}

#[tokio::test]
async fn concurrent_revision_attempts_are_retried_not_stalled() {
    // ECS's answer when two registrations of one family race (same-named objects in two
    // namespaces share a family by default). Before: Terminal, Stalled until the spec changed.
    let mut bed = Bed::start().await;
    bed.proxy.set_faults(vec![fault(
        "RegisterTaskDefinition",
        Some(1),
        client_exception(
            "Too many concurrent attempts to create a new revision of the specified family.",
        ),
    )]);
    bed.create("racy", fargate("nginx:1")).await;
    bed.wait_ready("racy").await;
    let registers: Vec<u16> = bed
        .proxy
        .requests()
        .iter()
        .filter(|r| r.operation == "RegisterTaskDefinition")
        .map(|r| r.status)
        .collect();
    assert_eq!(registers, [400, 200], "rejected once, then registered");
    assert!(
        !reasons(&bed.events("racy").await).contains(&"AwsRejected".to_owned()),
        "never reported as a rejection"
    );
    bed.stop_controller().await;
}

#[tokio::test]
async fn a_tag_only_edit_retags_the_revision_in_place() {
    let mut bed = Bed::start().await;
    let mut spec = fargate("nginx:1");
    spec["tags"] = json!([{"key": "team", "value": "a"}, {"key": "old", "value": "x"}]);
    bed.create("tagged", spec).await;
    let ready = bed.wait_ready("tagged").await;
    let arn = ready
        .status
        .as_ref()
        .and_then(|s| s.task_definition_arn.clone())
        .expect("arn");
    bed.proxy.clear();
    bed.tds()
        .patch(
            "tagged",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"tags": [{"key": "team", "value": "b"}, {"key": "new", "value": "y"}]}})),
        )
        .await
        .expect("edit");
    let after = bed
        .wait_for("tagged", "observed the tag edit", |o| {
            o.status
                .as_ref()
                .and_then(|s| s.reconcile.observed_generation)
                == o.metadata.generation
                && condition(o, "Ready") == Some("True")
        })
        .await;
    assert_eq!(
        after.status.and_then(|s| s.task_definition_arn),
        Some(arn.clone()),
        "same revision"
    );
    assert_eq!(
        bed.proxy.count("RegisterTaskDefinition"),
        0,
        "no new revision for tags"
    );
    let tag_calls: Vec<Value> = bed
        .proxy
        .requests()
        .into_iter()
        .filter(|r| r.operation == "TagResource" || r.operation == "UntagResource")
        .map(|r| json!({"op": r.operation, "body": r.body}))
        .collect();
    assert_eq!(
        tag_calls,
        vec![
            json!({"op": "UntagResource", "body": {"resourceArn": arn, "tagKeys": ["old"]}}),
            json!({"op": "TagResource", "body": {"resourceArn": arn, "tags": [{"key": "team", "value": "b"}, {"key": "new", "value": "y"}]}}),
        ],
        "removals first, so a rename near the 50-tag limit fits"
    );
    let described = bed.describe(&arn).await;
    let found: Vec<ecs_operator::api::common::Tag> =
        serde_json::from_value(described["tags"].clone()).expect("tags");
    assert_eq!(tags::value(&found, "team"), Some("b"));
    assert_eq!(tags::value(&found, "old"), None);
    assert!(
        tags::value(&found, tags::CONTENT_HASH).is_some()
            && tags::value(&found, tags::OWNER_UID).is_some(),
        "the operator's own tags stay: {found:?}"
    );
    bed.stop_controller().await;
}

#[tokio::test]
async fn a_failing_describe_is_no_reason_to_register_again_and_terminal_errors_retry_at_resync() {
    // Before: any ClientException from DescribeTaskDefinition read as "deregistered" and
    // registered the content again; and terminal errors waited for a spec change forever.
    let mut bed = Bed::start_configured(1, Duration::from_millis(500)).await;
    bed.create("denied", fargate("nginx:1")).await;
    bed.wait_ready("denied").await;
    // The drift check reads the shared listing of ACTIVE revisions, or describes the revision.
    let denied = client_exception(
        "User is not authorized to perform that action on the specified resource.",
    );
    bed.proxy.set_faults(vec![
        fault("DescribeTaskDefinition", None, denied.clone()),
        fault("ListTaskDefinitions", None, denied),
    ]);
    let stalled = bed
        .wait_for("denied", "Stalled", |o| {
            condition(o, "Stalled") == Some("True")
        })
        .await;
    let message = stalled
        .status
        .as_ref()
        .and_then(|s| s.reconcile.conditions.iter().find(|c| c.type_ == "Stalled"))
        .map(|c| (c.reason.clone(), c.message.clone()))
        .unwrap_or_default();
    assert_eq!(message.0, "AwsRejected");
    assert!(message.1.contains("not authorized"), "{message:?}");
    assert_eq!(
        bed.proxy.count("RegisterTaskDefinition"),
        1,
        "never registered again"
    );
    // The fix happens outside the spec (IAM): the next resync succeeds without any edit.
    bed.proxy.set_faults(Vec::new());
    bed.wait_ready("denied").await;
    assert_eq!(bed.proxy.count("RegisterTaskDefinition"), 1);
    bed.stop_controller().await;
}

#[tokio::test]
async fn a_revision_left_unrecorded_before_an_edit_is_tracked_and_trimmed() {
    // A crash right after RegisterTaskDefinition (here: every status write fails), then the spec
    // is edited before the next pass. Before: the left-over revision leaked forever.
    let mut bed = Bed::start_on_emulator().await;
    knob(&bed, json!({"verb": "patch", "resource": "ecstaskdefinitions", "status": 500, "count": 1_000_000})).await;
    let mut spec = fargate("nginx:1");
    spec["revisionHistoryLimit"] = json!(1);
    let mut object: EcsTaskDefinition = serde_json::from_value(json!({"apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsTaskDefinition", "metadata": {"name": "leaky"}, "spec": spec})).expect("object");
    object.metadata.finalizers = Some(vec![task_definition::FINALIZER.to_owned()]);
    bed.tds()
        .create(&PostParams::default(), &object)
        .await
        .expect("created");
    let deadline = Instant::now() + Duration::from_secs(60);
    while bed.proxy.count("RegisterTaskDefinition") == 0 {
        assert!(Instant::now() < deadline, "never registered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Edit with PUT (the failing knob matches patches only), then let status writes through.
    let mut current = bed.tds().get("leaky").await.expect("object");
    current.spec.definition.container_definitions[0].image = Some("nginx:2".into());
    bed.tds()
        .replace("leaky", &PostParams::default(), &current)
        .await
        .expect("edited");
    knob_clear(&bed).await;
    let ready = bed
        .wait_for("leaky", "Ready at generation 2", |o| {
            o.status
                .as_ref()
                .and_then(|s| s.reconcile.observed_generation)
                == Some(2)
                && condition(o, "Ready") == Some("True")
        })
        .await;
    let status = ready.status.expect("status");
    let registered: Vec<(String, u16)> = bed
        .proxy
        .requests()
        .into_iter()
        .filter(|r| r.operation == "RegisterTaskDefinition")
        .map(|r| {
            (
                r.body["containerDefinitions"][0]["image"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                r.status,
            )
        })
        .collect();
    assert_eq!(
        registered,
        [("nginx:1".to_owned(), 200), ("nginx:2".to_owned(), 200)],
        "the first content once, the edit once"
    );
    assert_eq!(status.revision, Some(2));
    assert_eq!(
        status
            .registered_revisions
            .iter()
            .map(|r| r.revision)
            .collect::<Vec<_>>(),
        [2],
        "history limit 1"
    );
    let first = status
        .task_definition_arn
        .as_deref()
        .expect("arn")
        .replace(":2", ":1");
    assert_eq!(
        bed.describe(&first).await["taskDefinition"]["status"],
        "INACTIVE",
        "the left-over revision was trimmed, not leaked"
    );
    bed.stop_controller().await;
}

#[tokio::test]
async fn hashes_recorded_by_the_previous_release_register_nothing_after_an_upgrade() {
    let mut bed = Bed::start().await;
    let mut spec = fargate("nginx:1");
    spec["tags"] = json!([{"key": "team", "value": "a"}]);
    bed.create("upgraded", spec.clone()).await;
    let ready = bed.wait_ready("upgraded").await;
    bed.stop_controller().await;
    // What the previous release recorded: a bare hex hash over the request including its tags,
    // and no tags hash.
    let request =
        ecs_operator::translate::task_definition::register_request("upgraded", &ready.spec)
            .expect("request");
    let legacy = {
        use sha2::Digest;
        let normalised = ecs_operator::translate::task_definition::normalise(&request);
        let digest = sha2::Sha256::digest(serde_json::to_vec(&normalised).expect("json"));
        digest[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    bed.tds()
        .patch_status(
            "upgraded",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"contentHash": legacy, "tagsHash": null}})),
        )
        .await
        .expect("status");
    bed.proxy.clear();
    bed.start_controller_with_resync(Duration::from_millis(500));
    let after = bed
        .wait_for("upgraded", "hash upgraded", |o| {
            o.status
                .as_ref()
                .and_then(|s| s.content_hash.as_deref())
                .is_some_and(|h| h.starts_with("v1:"))
        })
        .await;
    assert_eq!(condition(&after, "Ready"), Some("True"));
    assert_eq!(
        bed.proxy.count("RegisterTaskDefinition"),
        0,
        "an upgrade registers nothing"
    );
    assert_eq!(
        bed.proxy.count("TagResource"),
        0,
        "the tags were already right"
    );
    bed.stop_controller().await;
}

#[tokio::test]
async fn deleting_a_revision_that_is_already_inactive_completes() {
    let mut bed = Bed::start().await;
    bed.create("twice", fargate("nginx:1")).await;
    bed.wait_ready("twice").await;
    bed.proxy.set_faults(vec![fault(
        "DeregisterTaskDefinition",
        None,
        client_exception("The specified task definition is already INACTIVE."),
    )]);
    bed.tds()
        .delete("twice", &DeleteParams::default())
        .await
        .expect("delete");
    let deadline = Instant::now() + Duration::from_secs(60);
    while bed.tds().get("twice").await.is_ok() {
        assert!(Instant::now() < deadline, "never went away");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bed.stop_controller().await;
}

async fn knob(bed: &Bed, body: Value) {
    let (status, _) = ecs_testbed::http::send(
        &ecs_testbed::http::client(),
        "POST",
        &format!("{}/_emulator/fail", bed.emulator_url()),
        &[],
        body.to_string().into(),
    )
    .await
    .expect("knob");
    assert_eq!(status, 200);
}

async fn knob_clear(bed: &Bed) {
    let (status, _) = ecs_testbed::http::send(
        &ecs_testbed::http::client(),
        "DELETE",
        &format!("{}/_emulator/fail", bed.emulator_url()),
        &[],
        bytes::Bytes::new(),
    )
    .await
    .expect("knob");
    assert_eq!(status, 200);
}
