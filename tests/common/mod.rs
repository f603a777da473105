//! Helpers shared by the integration tests.
#![allow(dead_code)]

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
pub async fn emulator_with_crds() -> (ecs_testbed::kube_api::KubeApi, kube::Client) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let api = ecs_testbed::kube_api::KubeApi::start(None)
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
