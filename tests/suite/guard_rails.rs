//! The chart's guard rails on the real API server: a namespace's annotations (set by the
//! platform team) limit the ECS clusters, IAM roles, `resourceId`, adoption and
//! `deletionPolicy: Delete` its objects may use; an object outside them is refused with the
//! rule's message, one inside is admitted, and a namespace without them has no limit.

use crate::common;

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

const ROLES: &str = "arn:aws:iam::111122223333:role/shop-";

fn object(kind: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "ecs.operator.dev/v1alpha1", "kind": kind,
           "metadata": {"name": name}, "spec": spec})
}

fn td(roles: Value) -> Value {
    let mut spec = json!({"family": "shop", "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128}]});
    for (key, value) in roles.as_object().expect("object") {
        spec[key] = value.clone();
    }
    object("EcsTaskDefinition", "shop", spec)
}

fn service(cluster: &str, extra: Value) -> Value {
    let mut spec = json!({"cluster": cluster, "taskDefinition": "shop:1", "desiredCount": 1});
    for (key, value) in extra.as_object().expect("object") {
        spec[key] = value.clone();
    }
    object("EcsService", "web", spec)
}

/// A server-side dry run of `document` in the namespace: `Err` with kubectl's output when the
/// API server refuses it.
async fn dry_run(cluster: &common::Cluster, document: &Value) -> Result<(), String> {
    let path = common::temp_yaml(
        &format!("rails-{}", fastrand::u32(..)),
        std::slice::from_ref(document),
    );
    let kubeconfig = cluster.kubeconfig.clone();
    let ns = cluster.namespace.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("kubectl")
            .args(["apply", "--dry-run=server", "--namespace", &ns, "-f"])
            .arg(&path)
            .env("KUBECONFIG", kubeconfig)
            .output()
    })
    .await
    .expect("joined")
    .expect("kubectl runs");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

async fn annotate(cluster: &common::Cluster, annotations: Value) {
    let namespaces: Api<Namespace> = Api::all(cluster.client.clone());
    namespaces
        .patch(
            &cluster.namespace,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": annotations}})),
        )
        .await
        .expect("annotated");
}

/// Waits until the API server answers `document` as `wanted` says (policies, bindings and the
/// namespace reach admission through informers, a moment after they are written).
async fn wait_until(
    cluster: &common::Cluster,
    document: &Value,
    wanted: impl Fn(&Result<(), String>) -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = dry_run(cluster, document).await;
        if wanted(&answer) {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "never answered as wanted: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_object_outside_its_namespaces_limits_is_refused_with_the_rules_message() {
    let cluster = common::cluster().await;
    if cluster.kind == common::ClusterKind::Emulator {
        eprintln!("note: the emulator runs no admission policies; nothing to check");
        return;
    }
    let ns = cluster.namespace.clone();
    annotate(
        &cluster,
        json!({
            "ecs.operator.dev/allowed-clusters": "shop-prod, shop-staging",
            "ecs.operator.dev/allowed-role-arn-prefixes": ROLES,
            "ecs.operator.dev/allow-resource-id": "false",
            "ecs.operator.dev/allow-adopt": "false",
            "ecs.operator.dev/allow-deletion-policy-delete": "false",
        }),
    )
    .await;
    common::install_admission_policy(&cluster, "guard-rails", &[]).await;

    let elsewhere = service("payments", json!({}));
    let refused = wait_until(&cluster, &elsewhere, Result::is_err)
        .await
        .unwrap_err();
    assert!(
        refused.contains(&format!(
            "ECS cluster payments is not allowed in namespace {ns} (ecs.operator.dev/allowed-clusters: shop-prod, shop-staging)"
        )),
        "{refused}"
    );

    let admitted = [
        service("shop-prod", json!({})),
        service(
            "arn:aws:ecs:us-east-1:111122223333:cluster/shop-staging",
            json!({}),
        ),
        td(
            json!({"taskRoleArn": format!("{ROLES}app"), "executionRoleArn": format!("{ROLES}exec"),
                  "deletionPolicy": "Retain"}),
        ),
        object("EcsCluster", "shop-prod", json!({})),
        object(
            "EcsScalingPolicy",
            "web",
            json!({"serviceRef": {"name": "web"}, "minCapacity": 1, "maxCapacity": 2}),
        ),
    ];
    for document in &admitted {
        assert_eq!(dry_run(&cluster, document).await, Ok(()), "{document}");
    }

    let mut adopted = object("EcsCluster", "shop-prod", json!({}));
    adopted["metadata"]["annotations"] = json!({"ecs.operator.dev/adopt": " true"});
    let mut same_owner = object("EcsCluster", "shop-prod", json!({}));
    same_owner["metadata"]["annotations"] = json!({"ecs.operator.dev/adopt": "same-owner"});
    let refusals = [
        (
            object("EcsCluster", "payments", json!({})),
            "ECS cluster payments is not allowed".to_owned(),
        ),
        (
            td(json!({"taskRoleArn": "arn:aws:iam::111122223333:role/admin"})),
            format!(
                "IAM role arn:aws:iam::111122223333:role/admin is not allowed in namespace {ns} (ecs.operator.dev/allowed-role-arn-prefixes: {ROLES})"
            ),
        ),
        (
            service(
                "shop-prod",
                json!({"deploymentConfiguration": {"lifecycleHooks": [{
                    "hookTargetArn": "arn:aws:lambda:us-east-1:111122223333:function:hook",
                    "roleArn": "arn:aws:iam::999999999999:role/hooks",
                    "lifecycleStages": ["PRE_SCALE_UP"]}]}}),
            ),
            "IAM role arn:aws:iam::999999999999:role/hooks is not allowed".to_owned(),
        ),
        (
            service(
                "shop-prod",
                json!({"preDeploy": {"overrides": {"executionRoleArn": "arn:aws:iam::111122223333:role/pre"}}}),
            ),
            "IAM role arn:aws:iam::111122223333:role/pre is not allowed".to_owned(),
        ),
        (
            object(
                "EcsTask",
                "migrate",
                json!({"cluster": "shop-prod", "taskDefinition": "shop:1",
                       "overrides": {"taskRoleArn": "arn:aws:iam::111122223333:role/admin"}}),
            ),
            "IAM role arn:aws:iam::111122223333:role/admin is not allowed".to_owned(),
        ),
        (
            object(
                "EcsScalingPolicy",
                "legacy",
                json!({"resourceId": "service/shop-prod/legacy", "minCapacity": 1, "maxCapacity": 2}),
            ),
            format!(
                "spec.resourceId is not allowed in namespace {ns} (ecs.operator.dev/allow-resource-id: false)"
            ),
        ),
        (
            adopted,
            format!(
                "the ecs.operator.dev/adopt annotation is not allowed in namespace {ns} (ecs.operator.dev/allow-adopt: false)"
            ),
        ),
        (
            same_owner,
            "the ecs.operator.dev/adopt annotation is not allowed".to_owned(),
        ),
        (
            td(json!({"deletionPolicy": "Delete"})),
            format!(
                "spec.deletionPolicy: Delete is not allowed in namespace {ns} (ecs.operator.dev/allow-deletion-policy-delete: false)"
            ),
        ),
    ];
    for (document, message) in &refusals {
        let refused = dry_run(&cluster, document).await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.contains(message.as_str())),
            "{document}\nwanted {message:?}, got {refused:?}"
        );
    }

    // An object being deleted may lose its finalizers, but not turn to deletionPolicy: Delete
    // (the operator reads it when it cleans up).
    let mut held = td(json!({"deletionPolicy": "Retain"}));
    held["metadata"]["finalizers"] = json!(["ecs.operator.dev/test-hold"]);
    let held: ecs_operator::api::EcsTaskDefinition = serde_json::from_value(held).expect("object");
    let tds: Api<ecs_operator::api::EcsTaskDefinition> =
        Api::namespaced(cluster.client.clone(), &ns);
    tds.create(&Default::default(), &held)
        .await
        .expect("created");
    tds.delete("shop", &Default::default())
        .await
        .expect("deletion started");
    let turned = tds
        .patch(
            "shop",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"deletionPolicy": "Delete"}})),
        )
        .await;
    assert!(
        matches!(&turned, Err(kube::Error::Api(s)) if s.message.contains("spec.deletionPolicy: Delete is not allowed")),
        "{turned:?}"
    );
    tds.patch(
        "shop",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("released");

    // A namespace without the annotations has no such limits.
    annotate(
        &cluster,
        json!({
            "ecs.operator.dev/allowed-clusters": null,
            "ecs.operator.dev/allowed-role-arn-prefixes": null,
            "ecs.operator.dev/allow-resource-id": null,
            "ecs.operator.dev/allow-adopt": null,
            "ecs.operator.dev/allow-deletion-policy-delete": null,
        }),
    )
    .await;
    wait_until(&cluster, &elsewhere, Result::is_ok)
        .await
        .expect("admitted");
    for (document, _) in &refusals {
        assert_eq!(dry_run(&cluster, document).await, Ok(()), "{document}");
    }
}

/// A namespace may name only a role under the platform's prefixes
/// (`admissionPolicies.namespaceRoleArnPrefixes`), so no tenant reconciles as another's account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_names_only_a_role_under_the_allowed_prefixes() {
    let cluster = common::cluster().await;
    if cluster.kind == common::ClusterKind::Emulator {
        eprintln!("note: the emulator runs no admission policies; nothing to check");
        return;
    }
    common::install_admission_policy(
        &cluster,
        "namespace-role",
        &["admissionPolicies.namespaceRoleArnPrefixes={arn:aws:iam::444455556666:role/ecs-operator-}"],
    )
    .await;
    let namespaces: Api<Namespace> = Api::all(cluster.client.clone());
    let annotate = |role: &'static str| {
        let namespaces = namespaces.clone();
        let name = cluster.namespace.clone();
        async move {
            namespaces
                .patch(
                    &name,
                    &PatchParams {
                        dry_run: true,
                        ..Default::default()
                    },
                    &Patch::Merge(json!({"metadata": {"annotations": {"ecs.operator.dev/aws-role-arn": role}}})),
                )
                .await
        }
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let refused = loop {
        match annotate("arn:aws:iam::999999999999:role/admin").await {
            Err(kube::Error::Api(status)) => break status.message,
            Ok(_) => {}
            Err(other) => panic!("{other}"),
        }
        assert!(Instant::now() < deadline, "the policy never took effect");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(
        refused.contains(&format!(
            "ecs.operator.dev/aws-role-arn arn:aws:iam::999999999999:role/admin of namespace {} is not under the allowed role ARN prefixes (arn:aws:iam::444455556666:role/ecs-operator-)",
            cluster.namespace
        )),
        "{refused}"
    );
    annotate("arn:aws:iam::444455556666:role/ecs-operator-shop")
        .await
        .expect("a role under the prefix is admitted");
}
