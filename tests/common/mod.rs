//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod stack;

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// JSON with every number as f64, so `70` and `70.0` compare equal (the AWS SDK and serde_json
/// print whole floats differently; AWS reads both the same).
pub fn numbers_as_f64(value: &Value) -> Value {
    match value {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Number(n.clone()), Value::Number),
        Value::Array(items) => Value::Array(items.iter().map(numbers_as_f64).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), numbers_as_f64(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Writes `documents` as one multi-document YAML file in a fresh temporary folder.
pub fn temp_yaml(name: &str, documents: &[Value]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ecs-operator-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{name}.yaml"));
    let text: Vec<String> = documents
        .iter()
        .map(|d| serde_yaml::to_string(d).expect("yaml"))
        .collect();
    std::fs::write(&path, text.join("---\n")).expect("write");
    path
}

/// A recording proxy in front of the shared moto, with an AWS account of its own (so tests sharing
/// the moto server never see each other's resources). Returns the proxy and the account id.
pub async fn moto_proxy() -> (ecs_testbed::AwsProxy, String) {
    let moto = ecs_testbed::MotoServer::shared().expect("moto starts");
    let account = ecs_testbed::next_account_id();
    let proxy = ecs_testbed::AwsProxy::start(ecs_testbed::ProxyConfig {
        upstream: moto.url().to_owned(),
        account_id: Some(account.clone()),
        ..Default::default()
    })
    .await
    .expect("proxy starts");
    (proxy, account)
}

/// A Kubernetes API emulator with the operator's CRDs installed, and a client for it.
pub async fn emulator_with_crds() -> (ecs_testbed::kube::emulator::KubeApi, kube::Client) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let api = ecs_testbed::kube::emulator::KubeApi::start(None)
        .await
        .expect("emulator starts");
    let client =
        kube::Client::try_from(kube::Config::new(api.url().parse().expect("url"))).expect("client");
    let crds: kube::Api<CustomResourceDefinition> = kube::Api::all(client.clone());
    for (_, crd) in ecs_operator::crdgen::all() {
        crds.create(&kube::api::PostParams::default(), &crd)
            .await
            .expect("CRD created");
    }
    (api, client)
}

/// Where an end-to-end test runs: a namespace of its own on a cluster, and a client for it.
///
/// The cluster is `$E2E_KUBECONFIG`'s when set (any real cluster), otherwise the real control
/// plane the test bed builds (one per test binary), otherwise (no Go here) the emulator. The
/// operator's CRDs are applied first.
pub struct Cluster {
    /// A client with the admin identity.
    pub client: kube::Client,
    /// The test's own namespace.
    pub namespace: String,
    /// A kubeconfig file for kubectl and the operator binary.
    pub kubeconfig: PathBuf,
    /// What is behind it.
    pub kind: ClusterKind,
    _emulator: Option<ecs_testbed::kube::emulator::KubeApi>,
}

/// The three kinds of cluster the suite runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterKind {
    /// `$E2E_KUBECONFIG`.
    External,
    /// kube-apiserver + kube-controller-manager + etcd built by the test bed.
    ControlPlane,
    /// The in-process emulator (fault knobs available).
    Emulator,
}

/// A fresh namespace on the suite's cluster (see [`Cluster`]).
pub async fn cluster() -> Cluster {
    match std::env::var_os("E2E_KUBECONFIG") {
        Some(path) => on_cluster(PathBuf::from(path), ClusterKind::External, None).await,
        None if ecs_testbed::kube::control_plane::available() => {
            let plane = ecs_testbed::kube::control_plane::ControlPlane::shared()
                .unwrap_or_else(|e| panic!("control plane: {e}"));
            on_cluster(
                plane.endpoint().kubeconfig.clone(),
                ClusterKind::ControlPlane,
                None,
            )
            .await
        }
        None => emulator_cluster().await,
    }
}

/// A fresh namespace on an emulator of its own, for tests that need the emulator's fault knobs
/// (failing writes on demand, dropped watches); they run there whatever cluster the suite uses.
pub async fn emulator_cluster() -> Cluster {
    if std::env::var_os("E2E_KUBECONFIG").is_some() {
        eprintln!(
            "note: this test runs on the Kubernetes API emulator, not E2E_KUBECONFIG: it needs the emulator's fault knobs"
        );
    }
    let api = ecs_testbed::kube::emulator::KubeApi::start(None)
        .await
        .expect("emulator starts");
    let path = std::env::temp_dir().join(format!(
        "ecs-operator-emulator-{}-{}.kubeconfig",
        std::process::id(),
        next()
    ));
    let path = api.write_kubeconfig(&path).expect("kubeconfig");
    on_cluster(path, ClusterKind::Emulator, Some(api)).await
}

fn next() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
}

async fn on_cluster(
    kubeconfig: PathBuf,
    kind: ClusterKind,
    emulator: Option<ecs_testbed::kube::emulator::KubeApi>,
) -> Cluster {
    let namespace = format!("e2e-{}-{}", std::process::id(), next());
    let client = client_for(&kubeconfig).await;
    install_crds(&client).await;
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> =
        kube::Api::all(client.clone());
    namespaces
        .create(
            &kube::api::PostParams::default(),
            &serde_json::from_value(serde_json::json!({"metadata": {"name": namespace}}))
                .expect("namespace"),
        )
        .await
        .expect("namespace created");
    Cluster {
        client,
        namespace,
        kubeconfig,
        kind,
        _emulator: emulator,
    }
}

impl Cluster {
    /// The emulator's base URL, when this cluster is the emulator.
    pub fn emulator_url(&self) -> Option<String> {
        self._emulator.as_ref().map(|api| api.url().to_owned())
    }
}

/// A client from a kubeconfig file.
pub async fn client_for(kubeconfig: &Path) -> kube::Client {
    let file = kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
    let config =
        kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
            .await
            .expect("config");
    kube::Client::try_from(config).expect("client")
}

/// Applies the operator's CRDs (server-side, idempotent) and waits until they are Established.
pub async fn install_crds(client: &kube::Client) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let crds: kube::Api<CustomResourceDefinition> = kube::Api::all(client.clone());
    for (_, crd) in ecs_operator::crdgen::all() {
        let name = crd.metadata.name.clone().expect("name");
        crds.patch(
            &name,
            &kube::api::PatchParams::apply("ecs-operator-tests").force(),
            &kube::api::Patch::Apply(&crd),
        )
        .await
        .expect("CRD applied");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let current = crds.get(&name).await.expect("CRD");
            let established = current
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{name} never Established"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// Applies the chart's admission policy `<release>-<policy>` and its binding, bound to the test's
/// namespace only (the binding's namespace selector, as `watchNamespaces` renders it) and named
/// after it, so tests sharing a cluster do not share them.
pub async fn install_admission_policy(cluster: &Cluster, policy: &str, sets: &[&str]) {
    let ns = cluster.namespace.clone();
    let suffix = format!("-{policy}");
    let watched = format!("watchNamespaces={{{ns}}}");
    let all: Vec<&str> = std::iter::once(watched.as_str())
        .chain(sets.iter().copied())
        .collect();
    let mut documents: Vec<Value> = render_chart(&ns, &all)
        .into_iter()
        .filter(|d| {
            d["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.ends_with(&suffix))
        })
        .collect();
    assert_eq!(documents.len(), 2, "the policy {policy} and its binding");
    for document in &mut documents {
        let name = format!(
            "{}-{ns}",
            document["metadata"]["name"].as_str().expect("name")
        );
        document["metadata"]["name"] = serde_json::json!(name);
        if document["kind"] == "ValidatingAdmissionPolicyBinding" {
            document["spec"]["policyName"] = serde_json::json!(name);
        }
    }
    let path = temp_yaml(&format!("admission-{policy}-{ns}"), &documents);
    let kubeconfig = cluster.kubeconfig.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("kubectl")
            .args(["apply", "-f"])
            .arg(&path)
            .env("KUBECONFIG", kubeconfig)
            .output()
    })
    .await
    .expect("joined")
    .expect("kubectl runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `helm template` of charts/ecs-operator (release `ecs-operator`) in `namespace` with `--set`
/// `sets`, as JSON documents.
pub fn render_chart(namespace: &str, sets: &[&str]) -> Vec<Value> {
    let helm = ecs_testbed::tools::helm().unwrap_or_else(|e| panic!("helm: {e}"));
    let chart = root().join("charts").join("ecs-operator");
    let mut command = std::process::Command::new(helm);
    command
        .args(["template", "ecs-operator"])
        .arg(&chart)
        .args(["--namespace", namespace]);
    for set in sets {
        command.args(["--set", set]);
    }
    let output = command.output().expect("helm runs");
    assert!(
        output.status.success(),
        "helm template {sets:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    serde_yaml::Deserializer::from_str(&text)
        .filter_map(|document| {
            let value: Value = serde::Deserialize::deserialize(document).ok()?;
            (!value.is_null()).then_some(value)
        })
        .collect()
}

/// The Events about the object `name` in `namespace`, whole (for a test that reads their times or
/// series).
pub async fn event_objects_of(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Vec<k8s_openapi::api::events::v1::Event> {
    let events: kube::Api<k8s_openapi::api::events::v1::Event> =
        kube::Api::namespaced(client.clone(), namespace);
    events
        .list(&kube::api::ListParams::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .collect()
}

/// The Events about the object `name` in `namespace`: (type, reason, note).
pub async fn events_of(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Vec<(String, String, String)> {
    event_objects_of(client, namespace, name)
        .await
        .into_iter()
        .map(|e| {
            (
                e.type_.unwrap_or_default(),
                e.reason.unwrap_or_default(),
                e.note.unwrap_or_default(),
            )
        })
        .collect()
}

/// The Events of `name` once one satisfies `check` (they are published after the status write,
/// so a test that saw the status may be ahead of them).
pub async fn wait_event(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    check: impl Fn(&(String, String, String)) -> bool,
) -> Vec<(String, String, String)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let events = events_of(client, namespace, name).await;
        if events.iter().any(&check) {
            return events;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name}: no such Event in {events:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
