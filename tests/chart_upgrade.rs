//! Upgrading the chart upgrades the CRDs, on the real API server: from a release whose CRDs came
//! from Helm's `crds/` folder (an older schema, never upgraded by Helm), through the documented
//! adoption commands, to the chart whose CRDs are templates; `kubectl apply --server-side
//! --force-conflicts` still works after Helm owns them; uninstalling keeps the CRDs and objects.
//!
//! It deletes and recreates the CRDs, so it runs only on the test bed's own control plane (one
//! per test binary, and this binary has one test).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams};
use serde_json::Value;

const RELEASE: &str = "eco";

fn run(command: &mut Command) -> Output {
    command.output().expect("runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn helm(cluster: &common::Cluster, args: &[&str]) -> Output {
    let helm = ecs_testbed::tools::helm().unwrap_or_else(|e| panic!("helm: {e}"));
    run(Command::new(helm)
        .args(args)
        .args(["--namespace", &cluster.namespace])
        .env("KUBECONFIG", &cluster.kubeconfig))
}

fn kubectl(cluster: &common::Cluster, args: &[&str]) -> Output {
    run(Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", &cluster.kubeconfig)
        .current_dir(common::root()))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The chart as the previous release shipped it: CRDs in `crds/` (installed once by Helm), and
/// an EcsService schema without what this release added (the `/scale` subresource and
/// `status.selector`).
fn previous_chart(dir: &Path) -> PathBuf {
    let chart = dir.join("ecs-operator");
    copy_dir(&common::root().join("charts").join("ecs-operator"), &chart);
    std::fs::remove_file(chart.join("templates").join("crds.yaml")).expect("templates");
    std::fs::rename(chart.join("files").join("crds"), chart.join("crds")).expect("crds/");
    let path = chart.join("crds").join("ecsservices.yaml");
    let mut crd: Value =
        serde_yaml::from_str(&std::fs::read_to_string(&path).expect("crd")).expect("yaml");
    let version = &mut crd["spec"]["versions"][0];
    version["subresources"]
        .as_object_mut()
        .expect("subresources")
        .remove("scale");
    version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
        .as_object_mut()
        .expect("status")
        .remove("selector");
    std::fs::write(&path, serde_yaml::to_string(&crd).expect("yaml")).expect("write");
    chart
}

async fn services_crd(cluster: &common::Cluster) -> CustomResourceDefinition {
    let crds: Api<CustomResourceDefinition> = Api::all(cluster.client.clone());
    crds.get("ecsservices.ecs.operator.dev").await.expect("CRD")
}

fn has_scale(crd: &CustomResourceDefinition) -> bool {
    crd.spec.versions[0]
        .subresources
        .as_ref()
        .and_then(|s| s.scale.as_ref())
        .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_upgrade_upgrades_the_crds_and_uninstall_keeps_them() {
    let cluster = common::cluster().await;
    if cluster.kind != common::ClusterKind::ControlPlane {
        eprintln!(
            "note: this test replaces the CRDs; it runs only on the test bed's own control plane"
        );
        return;
    }
    let crds: Api<CustomResourceDefinition> = Api::all(cluster.client.clone());
    // A CRD deleted before the API server serves its instances waits a long time for its
    // cleanup finalizer (which cannot list them, and backs off): delete only serving ones.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    for (_, crd) in ecs_operator::crdgen::all() {
        let name = crd.metadata.name.clone().expect("name");
        loop {
            let established = crds.get_opt(&name).await.expect("get").is_some_and(|c| {
                c.status
                    .and_then(|s| s.conditions)
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            });
            // And its instances' storage serves lists (a list from the watch cache fails with
            // "storage is (re)initializing" until then, and so would the cleanup's).
            let plural = crd.spec.names.plural.clone();
            let resource = kube::discovery::ApiResource::from_gvk_with_plural(
                &kube::api::GroupVersionKind::gvk(
                    "ecs.operator.dev",
                    "v1alpha1",
                    &crd.spec.names.kind,
                ),
                &plural,
            );
            let instances: Api<kube::api::DynamicObject> =
                Api::all_with(cluster.client.clone(), &resource);
            let serving = instances
                .list(&kube::api::ListParams::default().match_any())
                .await
                .is_ok();
            if established && serving {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{name} never established"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    for (_, crd) in ecs_operator::crdgen::all() {
        let name = crd.metadata.name.clone().expect("name");
        crds.delete(&name, &DeleteParams::default())
            .await
            .expect("deleted");
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    for (_, crd) in ecs_operator::crdgen::all() {
        let name = crd.metadata.name.clone().expect("name");
        while let Some(left) = crds.get_opt(&name).await.expect("get") {
            assert!(
                std::time::Instant::now() < deadline,
                "{name} never deleted: {:?} {:?}",
                left.metadata.finalizers,
                left.status.and_then(|s| s.conditions)
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    let dir = std::env::temp_dir().join(format!("ecs-operator-upgrade-{}", std::process::id()));
    let old = previous_chart(&dir);
    tokio::task::block_in_place(|| {
        let installed = helm(&cluster, &["install", RELEASE, old.to_str().expect("path")]);
        assert!(installed.status.success(), "{}", text(&installed));
    });
    assert!(
        !has_scale(&services_crd(&cluster).await),
        "the previous schema"
    );

    let chart = common::root().join("charts").join("ecs-operator");
    let chart = chart.to_str().expect("path");
    let names: Vec<String> = ecs_operator::crdgen::all()
        .into_iter()
        .map(|(_, crd)| crd.metadata.name.expect("name"))
        .collect();
    tokio::task::block_in_place(|| {
        // CRDs from crds/ carry no Helm ownership: the templates cannot take them over as they are.
        let refused = helm(&cluster, &["upgrade", RELEASE, chart]);
        assert!(!refused.status.success(), "{}", text(&refused));
        assert!(
            text(&refused).contains("invalid ownership metadata"),
            "{}",
            text(&refused)
        );
        // The README's commands, once.
        for name in &names {
            let crd = format!("crd/{name}");
            let labelled = kubectl(
                &cluster,
                &[
                    "label",
                    &crd,
                    "app.kubernetes.io/managed-by=Helm",
                    "--overwrite",
                ],
            );
            assert!(labelled.status.success(), "{}", text(&labelled));
            let annotated = kubectl(
                &cluster,
                &[
                    "annotate",
                    &crd,
                    &format!("meta.helm.sh/release-name={RELEASE}"),
                    &format!("meta.helm.sh/release-namespace={}", cluster.namespace),
                    "--overwrite",
                ],
            );
            assert!(annotated.status.success(), "{}", text(&annotated));
        }
        let upgraded = helm(&cluster, &["upgrade", RELEASE, chart]);
        assert!(upgraded.status.success(), "{}", text(&upgraded));
    });
    let upgraded = services_crd(&cluster).await;
    assert!(has_scale(&upgraded), "the upgrade brought the new schema");
    let status = &upgraded.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .and_then(|s| s.properties.as_ref())
        .and_then(|p| p.get("status"))
        .and_then(|s| s.properties.as_ref())
        .expect("status schema");
    assert!(status.contains_key("selector"));
    assert_eq!(
        upgraded
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("helm.sh/resource-policy"))
            .map(String::as_str),
        Some("keep")
    );

    tokio::task::block_in_place(|| {
        // Whoever manages the CRDs outside Helm (crds.enabled=false) applies them this way, even
        // over Helm's field manager.
        let applied = kubectl(
            &cluster,
            &["apply", "--server-side", "--force-conflicts", "-f", "crds/"],
        );
        assert!(applied.status.success(), "{}", text(&applied));
        let object = common::temp_yaml(
            "upgrade-object",
            &[serde_json::json!({
                "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsTaskDefinition",
                "metadata": {"name": "kept", "namespace": cluster.namespace},
                "spec": {"containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128}]}
            })],
        );
        let created = kubectl(&cluster, &["apply", "-f", object.to_str().expect("path")]);
        assert!(created.status.success(), "{}", text(&created));
        let uninstalled = helm(&cluster, &["uninstall", RELEASE]);
        assert!(uninstalled.status.success(), "{}", text(&uninstalled));
        assert!(
            text(&uninstalled).contains("kept due to the resource policy"),
            "{}",
            text(&uninstalled)
        );
    });
    for name in &names {
        assert!(
            crds.get_opt(name).await.expect("get").is_some(),
            "{name} kept"
        );
    }
    let tds: Api<ecs_operator::api::EcsTaskDefinition> =
        Api::namespaced(cluster.client.clone(), &cluster.namespace);
    assert!(tds.get_opt("kept").await.expect("get").is_some());
}
