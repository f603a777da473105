//! One AWS identity per namespace: `ecs.operator.dev/aws-role-arn` on a namespace makes its
//! objects reconcile with the credentials of that role (STS AssumeRole through the test bed,
//! which puts what they create in the role's account); a refused AssumeRole is reported by name
//! and tried again; `--require-namespace-role` leaves namespaces without a role alone.

use crate::common;

use std::time::{Duration, Instant};

use aws_sdk_ecs as ecs;
use aws_sdk_ecs::config::SharedCredentialsProvider;
use common::stack::{Bed, ec2};
use ecs_operator::api::common::AWS_ROLE_ANNOTATION;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

/// An ECS client acting as `role`, through the bed's proxy (as the operator does).
async fn client_as(bed: &Bed, role: &str) -> ecs::Client {
    let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(bed.proxy.url())
        .credentials_provider(ecs::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await;
    let provider = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("test")
        .configure(&base)
        .build()
        .await;
    ecs::Client::new(
        &base
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build(),
    )
}

async fn service_in(client: &ecs::Client, name: &str) -> Option<String> {
    client
        .describe_services()
        .cluster("prod")
        .services(name)
        .send()
        .await
        .expect("described")
        .services
        .unwrap_or_default()
        .into_iter()
        .find(|s| s.status.as_deref() == Some("ACTIVE"))
        .and_then(|s| s.service_arn)
}

async fn families_in(client: &ecs::Client, family: &str) -> Vec<String> {
    client
        .list_task_definitions()
        .family_prefix(family)
        .send()
        .await
        .expect("listed")
        .task_definition_arns
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespaces_objects_land_in_its_roles_account_only() {
    let bed = Bed::with_resync(Duration::from_secs(2)).await;
    let tenant = ecs_testbed::next_account_id();
    let role = format!("arn:aws:iam::{tenant}:role/ecs-operator-shop");
    let tenant_ecs = client_as(&bed, &role).await;
    tenant_ecs
        .create_cluster()
        .cluster_name("prod")
        .send()
        .await
        .expect("the tenant's cluster");

    // The first AssumeRole is refused (the trust policy not yet in place): reported, then the
    // operator assumes the role at its next try.
    bed.refuse_once(
        "AssumeRole",
        403,
        "AccessDenied",
        "User is not authorized to perform: sts:AssumeRole",
    );
    let namespaces: Api<Namespace> = Api::all(bed.client.clone());
    namespaces
        .patch(
            bed.ns(),
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": { AWS_ROLE_ANNOTATION: role }}})),
        )
        .await
        .expect("annotated");
    bed.create_td("web", "nginx:1").await;
    bed.create_service("web", ec2(json!({"taskDefinitionRef": {"name": "web"}})))
        .await;

    let deadline = Instant::now() + Duration::from_secs(60);
    let refusal = loop {
        // The EcsTaskDefinition and the EcsService are both named web.
        if let Some((_, _, message)) = bed
            .events("web")
            .await
            .into_iter()
            .find(|(_, _, message)| message.contains("sts:AssumeRole"))
        {
            break message;
        }
        assert!(Instant::now() < deadline, "the refusal was never reported");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        refusal.contains(&format!(
            "namespace {} ({AWS_ROLE_ANNOTATION}): cannot assume {role}",
            bed.ns()
        )) && refusal.contains("AccessDenied"),
        "{refusal}"
    );

    let ready = bed.wait_ready("web").await;
    let arn = ready
        .status
        .and_then(|s| s.service_arn)
        .expect("service arn");
    assert!(arn.contains(&format!(":{tenant}:")), "{arn}");
    assert_eq!(service_in(&tenant_ecs, "web").await, Some(arn));
    assert_eq!(
        service_in(&bed.ecs, "web").await,
        None,
        "nothing in the operator's own account"
    );
    assert_eq!(families_in(&tenant_ecs, "web").await.len(), 1);
    assert!(families_in(&bed.ecs, "web").await.is_empty());
    // The namespace now names another account: the object stops instead of making its service
    // again there.
    let elsewhere = format!(
        "arn:aws:iam::{}:role/ecs-operator-shop",
        ecs_testbed::next_account_id()
    );
    let before = bed.proxy.requests().len();
    namespaces
        .patch(
            bed.ns(),
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": { AWS_ROLE_ANNOTATION: elsewhere }}})),
        )
        .await
        .expect("annotated");
    let stopped = bed
        .wait_for("web", "stopped on the changed identity", |o| {
            common::stack::condition(o, "Stalled").1 == "AwsIdentityChanged"
        })
        .await;
    let message = common::stack::condition(&stopped, "Stalled").2;
    assert!(
        message.contains(&format!("now {elsewhere}@default"))
            && message.contains(&format!("live under {role}@default")),
        "{message}"
    );
    assert!(
        !bed.proxy.requests()[before..]
            .iter()
            .any(|r| r.operation == "CreateService" || r.operation == "RegisterTaskDefinition"),
        "nothing made again in the other account"
    );

    let assumed = bed
        .proxy
        .requests()
        .iter()
        .filter(|r| r.operation == "AssumeRole")
        .count();
    assert!(
        assumed <= 6,
        "credentials are cached per namespace role, not fetched per call: {assumed} AssumeRole calls"
    );
}

/// The external ID comes from the Secret the namespace names, in the operator's namespace, and
/// reaches STS; it never shows in the object's status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_external_id_comes_from_the_named_secret() {
    use ecs_operator::api::common::AWS_EXTERNAL_ID_SECRET_ANNOTATION;
    use k8s_openapi::api::core::v1::Secret;
    let bed = Bed::start().await;
    let role = format!(
        "arn:aws:iam::{}:role/ecs-operator-shop",
        ecs_testbed::next_account_id()
    );
    // The test bed's operator namespace is the test's own.
    let secrets: Api<Secret> = Api::namespaced(bed.client.clone(), bed.ns());
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "shop-external-id"},
        "stringData": {"external-id": "tenant-42-shop"}
    }))
    .expect("secret");
    secrets
        .create(&Default::default(), &secret)
        .await
        .expect("secret created");
    let namespaces: Api<Namespace> = Api::all(bed.client.clone());
    namespaces
        .patch(
            bed.ns(),
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                AWS_ROLE_ANNOTATION: role,
                AWS_EXTERNAL_ID_SECRET_ANNOTATION: "shop-external-id",
            }}})),
        )
        .await
        .expect("annotated");
    bed.create_td("web", "nginx:1").await;
    bed.wait_td_ready("web", 1).await;
    let assumed: Vec<serde_json::Value> = bed
        .proxy
        .requests()
        .iter()
        .filter(|r| r.operation == "AssumeRole")
        .map(|r| r.body.clone())
        .collect();
    assert!(!assumed.is_empty());
    for body in &assumed {
        assert_eq!(body["ExternalId"], "tenant-42-shop", "{body}");
        assert_eq!(body["RoleArn"], role.as_str(), "{body}");
        assert_eq!(
            body["RoleSessionName"],
            format!("ecs-operator-{}", bed.ns()),
            "{body}"
        );
    }
    let status =
        serde_json::to_string(&bed.tds().get("web").await.expect("td").status).expect("json");
    assert!(!status.contains("tenant-42-shop"));
    assert!(status.contains(&format!("{role}@default")), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_namespace_role_leaves_a_namespace_without_one_alone() {
    let bed = Bed::requiring_namespace_role().await;
    let before = bed.proxy.requests().len();
    bed.create_td("orphan", "nginx:1").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let message = loop {
        let object = bed.tds().get("orphan").await.expect("td");
        let stalled = object.status.as_ref().and_then(|s| {
            s.reconcile
                .conditions
                .iter()
                .find(|c| c.type_ == "Stalled" && c.status == "True")
                .map(|c| (c.reason.clone(), c.message.clone()))
        });
        if let Some((reason, message)) = stalled {
            assert_eq!(reason, "NamespaceRoleRequired");
            break message;
        }
        assert!(Instant::now() < deadline, "never Stalled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(message.contains(AWS_ROLE_ANNOTATION), "{message}");
    assert!(
        bed.proxy.requests()[before..].is_empty(),
        "no AWS call with the operator's own identity"
    );
}
