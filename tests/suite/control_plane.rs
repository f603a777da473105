//! The Kubernetes side of the test bed is a real control plane (kube-apiserver,
//! kube-controller-manager, etcd built from the Go modules), so what the tests pass, a cluster
//! passes: RBAC with impersonation and `kubectl auth can-i`, namespace lifecycle with finalizers,
//! garbage collection, service-account tokens, and the API server's own refusals. These run on
//! `$E2E_KUBECONFIG` too; on the emulator (no Go here) they are skipped with a note.

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Cluster, ClusterKind};
use serde_json::{Value, json};

async fn real_cluster() -> Option<Cluster> {
    let cluster = common::cluster().await;
    if cluster.kind == ClusterKind::Emulator {
        eprintln!("skipped: needs a real API server (Go not available, no E2E_KUBECONFIG)");
        return None;
    }
    Some(cluster)
}

fn kubectl(cluster: &Cluster, args: &[&str]) -> std::process::Output {
    Command::new("kubectl")
        .args(args)
        .args(["--namespace", &cluster.namespace])
        .env("KUBECONFIG", &cluster.kubeconfig)
        .output()
        .expect("kubectl runs")
}

fn ok(cluster: &Cluster, args: &[&str]) -> String {
    let output = kubectl(cluster, args);
    assert!(
        output.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn apply(cluster: &Cluster, document: &Value) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let path = common::temp_yaml(
        &format!("{}-{n}", cluster.namespace),
        std::slice::from_ref(document),
    );
    ok(cluster, &["apply", "-f", path.to_str().expect("path")])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_refuses_a_service_account_until_a_role_allows_it() {
    let Some(cluster) = real_cluster().await else {
        return;
    };
    let ns = cluster.namespace.clone();
    let user = format!("system:serviceaccount:{ns}:operator");
    tokio::task::block_in_place(|| {
        ok(&cluster, &["create", "serviceaccount", "operator"]);
        let denied = kubectl(&cluster, &["get", "ecstaskdefinitions", "--as", &user]);
        assert!(!denied.status.success());
        let message = String::from_utf8_lossy(&denied.stderr);
        assert!(
            message.contains("forbidden")
                && message.contains(&format!(
                    "User \"{user}\" cannot list resource \"ecstaskdefinitions\" in API group \"ecs.operator.dev\""
                )),
            "{message}"
        );
        let can = kubectl(
            &cluster,
            &[
                "auth",
                "can-i",
                "list",
                "ecstaskdefinitions.ecs.operator.dev",
                "--as",
                &user,
            ],
        );
        assert_eq!(String::from_utf8_lossy(&can.stdout).trim(), "no");

        apply(
            &cluster,
            &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": {"name": "reader", "namespace": ns},
                    "rules": [{"apiGroups": ["ecs.operator.dev"], "resources": ["ecstaskdefinitions"], "verbs": ["get", "list", "watch"]}]}),
        );
        apply(
            &cluster,
            &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": {"name": "reader", "namespace": ns},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
                    "subjects": [{"kind": "ServiceAccount", "name": "operator", "namespace": ns}]}),
        );
        ok(&cluster, &["get", "ecstaskdefinitions", "--as", &user]);
        let can = kubectl(
            &cluster,
            &[
                "auth",
                "can-i",
                "list",
                "ecstaskdefinitions.ecs.operator.dev",
                "--as",
                &user,
            ],
        );
        assert_eq!(String::from_utf8_lossy(&can.stdout).trim(), "yes");
        // The status subresource is its own permission.
        let status = kubectl(
            &cluster,
            &[
                "auth",
                "can-i",
                "patch",
                "ecstaskdefinitions.ecs.operator.dev",
                "--subresource",
                "status",
                "--as",
                &user,
            ],
        );
        assert_eq!(String::from_utf8_lossy(&status.stdout).trim(), "no");
        // And a token for the service account works on its own (no impersonation).
        let token = ok(&cluster, &["create", "token", "operator"]);
        assert!(token.trim().split('.').count() == 3, "a JWT: {token}");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_server_refuses_what_a_lenient_emulator_accepted() {
    let Some(cluster) = real_cluster().await else {
        return;
    };
    tokio::task::block_in_place(|| {
        let td = json!({"apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsTaskDefinition",
                        "metadata": {"name": "strict", "namespace": cluster.namespace},
                        "spec": {"containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128}]}});
        apply(&cluster, &td);
        // Strategic merge patch on a custom resource: 415.
        let smp = kubectl(
            &cluster,
            &[
                "patch",
                "ecstaskdefinition",
                "strict",
                "-p",
                r#"{"spec":{"cpu":"256"}}"#,
            ],
        );
        assert!(!smp.status.success());
        assert!(
            String::from_utf8_lossy(&smp.stderr)
                .contains("strategic-merge-patch+json is not supported"),
            "{}",
            String::from_utf8_lossy(&smp.stderr)
        );
        // An invalid object name: 422 naming the field.
        let mut bad = td.clone();
        bad["metadata"]["name"] = json!("Bad_Name");
        let path = common::temp_yaml(&format!("{}-bad", cluster.namespace), &[bad]);
        let refused = kubectl(&cluster, &["create", "-f", path.to_str().expect("path")]);
        assert!(!refused.status.success());
        assert!(
            String::from_utf8_lossy(&refused.stderr)
                .contains("metadata.name: Invalid value: \"Bad_Name\""),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
        // Our CRD's CEL rules are enforced by the API server itself.
        let mut fargate = td.clone();
        fargate["metadata"]["name"] = json!("fargate");
        fargate["spec"]["requiresCompatibilities"] = json!(["FARGATE"]);
        let path = common::temp_yaml(&format!("{}-fargate", cluster.namespace), &[fargate]);
        let refused = kubectl(&cluster, &["create", "-f", path.to_str().expect("path")]);
        assert!(
            String::from_utf8_lossy(&refused.stderr)
                .contains("Fargate task definitions need networkMode: awsvpc"),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_namespace_honours_finalizers_and_owners_are_garbage_collected() {
    let Some(cluster) = real_cluster().await else {
        return;
    };
    let ns = cluster.namespace.clone();
    let owner_uid = tokio::task::block_in_place(|| {
        apply(
            &cluster,
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner", "namespace": ns}}),
        );
        ok(
            &cluster,
            &[
                "get",
                "configmap",
                "owner",
                "-o",
                "jsonpath={.metadata.uid}",
            ],
        )
    });
    tokio::task::block_in_place(|| {
        apply(
            &cluster,
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dependent", "namespace": ns,
                    "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner_uid}]}}),
        );
        ok(&cluster, &["delete", "configmap", "owner"]);
    });
    wait(
        Duration::from_secs(60),
        "the dependent is garbage collected",
        || {
            !kubectl(&cluster, &["get", "configmap", "dependent"])
                .status
                .success()
        },
    )
    .await;

    tokio::task::block_in_place(|| {
        apply(
            &cluster,
            &json!({"apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsTaskDefinition",
                    "metadata": {"name": "held", "namespace": ns, "finalizers": ["example.com/hold"]},
                    "spec": {"containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128}]}}),
        );
        let out = Command::new("kubectl")
            .args(["delete", "namespace", &ns, "--wait=false"])
            .env("KUBECONFIG", &cluster.kubeconfig)
            .output()
            .expect("kubectl");
        assert!(out.status.success());
    });
    wait(
        Duration::from_secs(60),
        "the object gets a deletionTimestamp",
        || {
            !ok(
                &cluster,
                &[
                    "get",
                    "ecstaskdefinition",
                    "held",
                    "-o",
                    "jsonpath={.metadata.deletionTimestamp}",
                ],
            )
            .trim()
            .is_empty()
        },
    )
    .await;
    let phase = tokio::task::block_in_place(|| {
        ok(
            &cluster,
            &["get", "namespace", &ns, "-o", "jsonpath={.status.phase}"],
        )
    });
    assert_eq!(phase, "Terminating", "held by the object's finalizer");
    tokio::task::block_in_place(|| {
        ok(
            &cluster,
            &[
                "patch",
                "ecstaskdefinition",
                "held",
                "--type",
                "merge",
                "-p",
                r#"{"metadata":{"finalizers":null}}"#,
            ],
        );
    });
    wait(Duration::from_secs(120), "the namespace is gone", || {
        !Command::new("kubectl")
            .args(["get", "namespace", &ns])
            .env("KUBECONFIG", &cluster.kubeconfig)
            .output()
            .expect("kubectl")
            .status
            .success()
    })
    .await;
}

async fn wait(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    loop {
        if tokio::task::block_in_place(&mut check) {
            return;
        }
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A status write made from a stale read (two replicas overlapping during a leader change) is
/// refused with 409, on the real API server and on the emulator alike; a current one lands, under
/// the operator's field manager.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_write_from_a_stale_read_is_refused_with_a_conflict() {
    use ecs_operator::api::task_definition::EcsTaskDefinition;
    use ecs_operator::controller::runner::{FIELD_MANAGER, status_patch};
    use kube::api::{Api, Patch, PatchParams, PostParams};
    let real = common::cluster().await;
    let emulated = common::emulator_cluster().await;
    for cluster in [real, emulated] {
        let api: Api<EcsTaskDefinition> =
            Api::namespaced(cluster.client.clone(), &cluster.namespace);
        let object: EcsTaskDefinition = serde_json::from_value(json!({
            "apiVersion": "ecs.operator.dev/v1alpha1",
            "kind": "EcsTaskDefinition",
            "metadata": {"name": "web"},
            "spec": {"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                     "cpu": "256", "memory": "512",
                     "containerDefinitions": [{"name": "app", "image": "nginx:1"}]},
        }))
        .expect("object");
        let stale = api
            .create(&PostParams::default(), &object)
            .await
            .expect("created");
        api.patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"moved": "on"}}})),
        )
        .await
        .expect("a newer write");
        let status = json!({"observedGeneration": 1, "conditions": []});
        let refused = api
            .patch_status(
                "web",
                &PatchParams::default(),
                &status_patch(&stale, &status).expect("patch"),
            )
            .await
            .expect_err("a stale write is refused");
        assert!(
            matches!(&refused, kube::Error::Api(s) if s.code == 409),
            "{:?}: {refused:?}",
            cluster.kind
        );
        let current = api.get("web").await.expect("read");
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..PatchParams::default()
        };
        let written = api
            .patch_status(
                "web",
                &params,
                &status_patch(&current, &status).expect("patch"),
            )
            .await
            .expect("a current write lands");
        assert_eq!(
            written.status.and_then(|s| s.reconcile.observed_generation),
            Some(1)
        );
        if cluster.kind != ClusterKind::Emulator {
            let managers: Vec<_> = written
                .metadata
                .managed_fields
                .iter()
                .flatten()
                .filter(|m| m.subresource.as_deref() == Some("status"))
                .filter_map(|m| m.manager.clone())
                .collect();
            assert_eq!(managers, [FIELD_MANAGER], "{:?}", cluster.kind);
        }
    }
}

/// A stopped control plane deletes its state folder (etcd data, certificates, logs): a suite starts
/// a dozen of them, and each shared one lives in a static that is never dropped, so the folder is
/// removed by `up` itself when the test process's pipe closes. Without that, every run left
/// about 66 MB per cluster in the temp folder until the disk filled.
#[test]
fn a_stopped_control_plane_leaves_no_state_behind() {
    use ecs_testbed::kube::control_plane::{self, ControlPlane};
    if !control_plane::available() {
        eprintln!("skipped: needs Go or ECS_TESTBED_CONTROL_PLANE to run a control plane");
        return;
    }
    let plane = ControlPlane::start(None).expect("control plane starts");
    let dir = plane.endpoint().dir.clone();
    assert!(
        dir.join("etcd").is_dir(),
        "etcd keeps its data in {}",
        dir.display()
    );
    let wal_bytes: u64 = std::fs::read_dir(dir.join("etcd/member/wal"))
        .expect("the WAL folder")
        .filter_map(|entry| entry.ok()?.metadata().ok())
        .map(|metadata| metadata.len())
        .sum();
    assert!(
        wal_bytes <= 16 * 1000 * 1000,
        "WAL segments are preallocated small, found {wal_bytes} bytes"
    );
    drop(plane);
    assert!(!dir.exists(), "{} is left behind", dir.display());
}

/// The operator's recorder writes what the API server validates, both versions read it, and a
/// repeat within the window counts up one Event's series (`x2` in `kubectl describe`) where a
/// different message is an Event of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_event_counts_up_one_events_series() {
    use ecs_operator::controller::events::EventRecorder;
    use ecs_operator::controller::pipeline::Note;
    use k8s_openapi::api::core::v1::ObjectReference;
    use k8s_openapi::api::events::v1::Event;
    use kube::api::{Api, ListParams};
    let real = common::cluster().await;
    let emulated = common::emulator_cluster().await;
    for cluster in [real, emulated] {
        let recorder = EventRecorder::new(
            cluster.client.clone(),
            "ecs-operator",
            Some("ecs-operator-0".into()),
        );
        let regarding = ObjectReference {
            api_version: Some("ecs.operator.dev/v1alpha1".into()),
            kind: Some("EcsService".into()),
            namespace: Some(cluster.namespace.clone()),
            name: Some("web".into()),
            uid: Some("0b6d2a4c-7e9f-4d8a-9c1e-5f3a2b1c0d9e".into()),
            ..ObjectReference::default()
        };
        for note in [
            "rolling web to web:2",
            "rolling web to web:2",
            "rolling web to web:3",
        ] {
            recorder
                .publish(&Note::normal("Deploying", note).event(), &regarding)
                .await
                .unwrap_or_else(|e| panic!("{:?}: {e}", cluster.kind));
        }
        let events: Api<Event> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
        let mut listed: Vec<(String, Option<i32>, String)> = events
            .list(&ListParams::default())
            .await
            .expect("events")
            .items
            .into_iter()
            .map(|e| {
                let from = e.reporting_instance.unwrap_or_default();
                (e.note.unwrap_or_default(), e.series.map(|s| s.count), from)
            })
            .collect();
        listed.sort();
        let from = "ecs-operator-0".to_owned();
        assert_eq!(
            listed,
            [
                ("rolling web to web:2".to_owned(), Some(2), from.clone()),
                ("rolling web to web:3".to_owned(), None, from)
            ],
            "{:?}",
            cluster.kind
        );
        let described = ok(&cluster, &["describe", "events"]);
        assert!(described.contains("rolling web to web:2"), "{described}");
    }
}

/// Tenants bound to the built-in `edit` or `view` role in their namespace use the ECS kinds there
/// (the chart's ClusterRoles are aggregated into them by the controller manager), and nowhere
/// else; status stays the operator's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_with_the_built_in_edit_or_view_role_get_the_ecs_kinds_in_their_namespace() {
    let Some(cluster) = real_cluster().await else {
        return;
    };
    let ns = cluster.namespace.clone();
    let editor = format!("editor-{ns}");
    let viewer = format!("viewer-{ns}");
    for role in common::render_chart("ops", &[])
        .into_iter()
        .filter(|d| d["kind"] == "ClusterRole" && d["metadata"]["name"] != "ecs-operator")
    {
        tokio::task::block_in_place(|| apply(&cluster, &role));
    }
    for (user, role) in [(&editor, "edit"), (&viewer, "view")] {
        tokio::task::block_in_place(|| {
            apply(
                &cluster,
                &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                        "metadata": {"name": user, "namespace": ns},
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]}),
            )
        });
    }
    let can = |cluster: &Cluster, user: &str, args: &[&str]| -> String {
        let mut all = vec!["auth", "can-i"];
        all.extend_from_slice(args);
        all.extend(["--as", user]);
        String::from_utf8_lossy(&kubectl(cluster, &all).stdout)
            .trim()
            .to_owned()
    };
    // The aggregation controller fills the built-in roles soon after the ClusterRoles appear.
    wait(
        Duration::from_secs(60),
        "edit aggregates the ECS kinds",
        || {
            can(
                &cluster,
                &editor,
                &["create", "ecsservices.ecs.operator.dev"],
            ) == "yes"
                && can(&cluster, &viewer, &["list", "ecstasks.ecs.operator.dev"]) == "yes"
        },
    )
    .await;
    tokio::task::block_in_place(|| {
        let td = json!({"apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsTaskDefinition",
                        "metadata": {"name": "tenant", "namespace": ns},
                        "spec": {"containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128}]}});
        let path = common::temp_yaml(&format!("tenant-{ns}"), std::slice::from_ref(&td));
        let path = path.to_str().expect("path");
        ok(&cluster, &["apply", "-f", path, "--as", &editor]);
        ok(
            &cluster,
            &["get", "ecstaskdefinition", "tenant", "--as", &viewer],
        );
        let refused = kubectl(
            &cluster,
            &["delete", "ecstaskdefinition", "tenant", "--as", &viewer],
        );
        assert!(!refused.status.success(), "a viewer cannot delete");
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("forbidden"),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
    });
    for resource in [
        "ecsclusters",
        "ecscapacityproviders",
        "ecstaskdefinitions",
        "ecsservices",
        "ecsscalingpolicies",
        "ecstasks",
    ] {
        let resource = format!("{resource}.ecs.operator.dev");
        assert_eq!(
            can(&cluster, &editor, &["delete", &resource]),
            "yes",
            "{resource}"
        );
        assert_eq!(
            can(&cluster, &viewer, &["watch", &resource]),
            "yes",
            "{resource}"
        );
        assert_eq!(
            can(&cluster, &viewer, &["patch", &resource]),
            "no",
            "{resource}"
        );
        assert_eq!(
            can(
                &cluster,
                &editor,
                &["patch", &resource, "--subresource", "status"]
            ),
            "no",
            "{resource}/status is the operator's"
        );
        assert_eq!(
            can(
                &cluster,
                &editor,
                &["update", &resource, "--subresource", "scale"]
            ),
            if resource.starts_with("ecsservices.") {
                "yes"
            } else {
                "no"
            },
            "{resource}/scale: kubectl scale ecsservice"
        );
        // Only in the namespace the binding is in.
        let elsewhere = Command::new("kubectl")
            .args(["auth", "can-i", "create", &resource, "--as", &editor])
            .args(["--namespace", "default"])
            .env("KUBECONFIG", &cluster.kubeconfig)
            .output()
            .expect("kubectl runs");
        assert_eq!(
            String::from_utf8_lossy(&elsewhere.stdout).trim(),
            "no",
            "{resource} elsewhere"
        );
    }
}
