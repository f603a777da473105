//! `ecs-operator diff`, `import` and `verify` end to end: the binary run as a user runs it, against
//! a real Kubernetes API server (or $E2E_KUBECONFIG) and moto behind the recording AWS proxy with
//! its ECS model; the operator's controllers run beside it as they would in the cluster.

use crate::common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use aws_sdk_applicationautoscaling as aas;
use aws_sdk_ecs as ecs;
use common::stack::Bed;
use serde_json::{Value, json};

/// Runs the binary with `args` against the bed's AWS account (and, for `diff`, the only command
/// that reads Kubernetes, its cluster).
async fn tool(bed: &Bed, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ecs-operator"));
    command.args(args);
    if args.first() == Some(&"diff") {
        command.arg("--kubeconfig").arg(&bed.cluster.kubeconfig);
    }
    command
        .args(["--aws-region", "us-east-1", "--aws-endpoint-url"])
        .arg(bed.proxy.url())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE");
    // The tool runs while this test's runtime keeps serving the controllers beside it.
    tokio::time::timeout(
        Duration::from_secs(120),
        tokio::task::spawn_blocking(move || command.output()),
    )
    .await
    .expect("the tool finishes")
    .expect("joined")
    .expect("the tool runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The AWS operations the proxy recorded from `since` (a count of earlier records) on.
fn operations_since(bed: &Bed, since: usize) -> Vec<String> {
    bed.proxy
        .requests()
        .into_iter()
        .skip(since)
        .map(|r| r.operation)
        .collect()
}

/// Whether an AWS operation only reads.
fn is_read(operation: &str) -> bool {
    ["Describe", "List", "Get"]
        .iter()
        .any(|prefix| operation.starts_with(prefix))
}

fn td_object(bed: &Bed, name: &str, image: &str) -> Value {
    json!({
        "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsTaskDefinition",
        "metadata": {"name": name, "namespace": bed.ns()},
        "spec": {"family": format!("{}-{name}", bed.ns()),
                 "containerDefinitions": [{"name": "app", "image": image, "memory": 128}]}
    })
}

fn service_object(bed: &Bed, name: &str, td: &str, count: i32) -> Value {
    json!({
        "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsService",
        "metadata": {"name": name, "namespace": bed.ns()},
        "spec": {"cluster": "prod", "taskDefinitionRef": {"name": td}, "desiredCount": count,
                 "launchType": "EC2"}
    })
}

/// Runs kubectl against the bed's cluster and asserts it succeeded.
async fn kubectl(bed: &Bed, args: Vec<String>) {
    let mut command = std::process::Command::new("kubectl");
    command
        .arg("--kubeconfig")
        .arg(&bed.cluster.kubeconfig)
        .args(&args);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("joined")
        .expect("kubectl runs");
    assert!(
        output.status.success(),
        "kubectl {args:?}: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

async fn apply(bed: &Bed, path: &Path) {
    let path = path.to_str().expect("utf-8 path").to_owned();
    kubectl(
        bed,
        vec!["apply".into(), "--server-side".into(), "-f".into(), path],
    )
    .await;
}

/// `kubectl wait --for=condition=Ready` on every object of `kinds` in the bed's namespace.
async fn wait_ready_all(bed: &Bed, kinds: &str) {
    let args = [
        "wait",
        "--for=condition=Ready",
        "--timeout=90s",
        "--all",
        "-n",
        bed.ns(),
        kinds,
    ];
    kubectl(bed, args.iter().map(|a| (*a).to_owned()).collect()).await;
}

#[tokio::test]
async fn diff_shows_the_calls_a_pass_would_make_and_exits_by_what_would_change() {
    let bed = Bed::start().await;
    let td = td_object(&bed, "web", "nginx:1");
    let files = common::temp_yaml(
        &format!("diff-{}", bed.ns()),
        &[td.clone(), service_object(&bed, "web", "web", 2)],
    );
    let path = files.to_str().expect("utf-8 path");

    // Nothing applied yet: the task definition would be registered; the service waits for it.
    let before = bed.proxy.requests().len();
    let output = tool(&bed, &["diff", "-f", path]).await;
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}{}",
        text(&output.stderr)
    );
    assert!(
        stdout.contains("ecs:RegisterTaskDefinition") && stdout.contains("nginx:1"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("EcsService {}/web (new)", bed.ns())),
        "{stdout}"
    );
    assert!(
        stdout.contains("EcsTaskDefinition web is in the files but not applied yet"),
        "the wait names the object of the files it waits for: {stdout}"
    );
    let during = operations_since(&bed, before);
    assert!(
        during.iter().all(|op| is_read(op)),
        "diff only reads AWS: {during:?}"
    );
    assert!(
        bed.tds().get_opt("web").await.expect("read").is_none(),
        "diff writes nothing to Kubernetes"
    );

    // Applied and Ready: nothing would change, exit 0.
    apply(&bed, &files).await;
    bed.wait_ready("web").await;
    let output = tool(&bed, &["diff", "-f", path, "--output", "json"]).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    let previews: Value = serde_json::from_slice(&output.stdout).expect("json");
    let previews = previews.as_array().expect("a list");
    assert_eq!(previews.len(), 2);
    for preview in previews {
        assert_eq!(preview["calls"], json!([]), "{preview}");
        assert_eq!(preview["standing"], "Ready", "{preview}");
        assert_eq!(preview["inCluster"], true, "{preview}");
    }

    // A new image and count in the files: a new revision, and the count update for the service.
    let mut changed = td.clone();
    changed["spec"]["containerDefinitions"][0]["image"] = json!("nginx:2");
    std::fs::write(
        &files,
        [
            serde_yaml::to_string(&changed).expect("yaml"),
            serde_yaml::to_string(&service_object(&bed, "web", "web", 3)).expect("yaml"),
        ]
        .join("---\n"),
    )
    .expect("write");
    let before = bed.proxy.requests().len();
    let output = tool(&bed, &["diff", "-f", path, "--output", "json"]).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let previews: Value = serde_json::from_slice(&output.stdout).expect("json");
    let register = &previews[0]["calls"][0];
    assert_eq!(register["operation"], "ecs:RegisterTaskDefinition");
    assert_eq!(
        register["input"]["containerDefinitions"][0]["image"],
        "nginx:2"
    );
    assert_eq!(
        register["changes"],
        json!([
            format!("against {}-web:1:", bed.ns()),
            "containerDefinitions[0].image: \"nginx:1\" -> \"nginx:2\""
        ]),
        "the new revision's change against the current one: {register}"
    );
    let update = &previews[1]["calls"][0];
    assert_eq!(update["operation"], "ecs:UpdateService", "{previews}");
    assert_eq!(update["input"]["desiredCount"], 3, "{update}");
    let during = operations_since(&bed, before);
    assert!(
        during.iter().all(|op| is_read(op)),
        "diff only reads AWS: {during:?}"
    );
    let revision = bed.tds().get("web").await.expect("read").status;
    assert_eq!(
        revision.and_then(|s| s.revision),
        Some(1),
        "no revision was registered"
    );

    // An object the operator would refuse: exit 2, the field named on stderr.
    let mut invalid = service_object(&bed, "broken", "web", 1);
    invalid["spec"]["launchType"] = json!("FARGATE");
    invalid["spec"]["capacityProviderStrategy"] = json!([{"capacityProvider": "FARGATE"}]);
    let invalid_file = common::temp_yaml(&format!("diff-invalid-{}", bed.ns()), &[invalid]);
    let output = tool(
        &bed,
        &["diff", "-f", invalid_file.to_str().expect("utf-8 path")],
    )
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stdout));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("broken") && stderr.contains("capacityProviderStrategy"),
        "{stderr}"
    );
}

fn autoscaling(bed: &Bed) -> aas::Client {
    aas::Client::from_conf(
        aas::Config::builder()
            .behavior_version(aas::config::BehaviorVersion::latest())
            .region(aas::config::Region::new("us-east-1"))
            .endpoint_url(bed.proxy.url())
            .credentials_provider(aas::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .build(),
    )
}

fn tag(key: &str, value: &str) -> ecs::types::Tag {
    ecs::types::Tag::builder().key(key).value(value).build()
}

/// A cluster with two services (one autoscaled, with a scheduled action), built outside the
/// operator as the console or Terraform would; returns the cluster's name.
async fn running_ecs(bed: &Bed) -> String {
    let cluster = format!("legacy-{}", bed.ns());
    bed.ecs
        .create_cluster()
        .cluster_name(&cluster)
        .settings(
            ecs::types::ClusterSetting::builder()
                .name(ecs::types::ClusterSettingName::ContainerInsights)
                .value("enabled")
                .build(),
        )
        .tags(tag("team", "payments"))
        .send()
        .await
        .expect("cluster");
    let family = format!("{}-web", bed.ns());
    let container = ecs::types::ContainerDefinition::builder()
        .name("app")
        .image("nginx:1.27")
        .memory(128)
        .port_mappings(
            ecs::types::PortMapping::builder()
                .container_port(80)
                .build(),
        )
        .environment(
            ecs::types::KeyValuePair::builder()
                .name("MODE")
                .value("live")
                .build(),
        )
        .build();
    let registered = bed
        .ecs
        .register_task_definition()
        .family(&family)
        .container_definitions(container.clone())
        .tags(tag("team", "payments"))
        // Left by an earlier EcsTaskDefinition deleted with deletionPolicy: Retain: an owner
        // that is gone does not keep the revision from being adopted.
        .tags(tag("ecs.operator.dev/owner", "old-namespace/web"))
        .tags(tag("ecs.operator.dev/owner-uid", "2c1f0b7e-gone"))
        .send()
        .await
        .expect("task definition");
    let td_arn = registered
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("arn")
        .to_owned();
    for (service, count) in [("web", 2), ("worker", 1)] {
        bed.ecs
            .create_service()
            .cluster(&cluster)
            .service_name(service)
            .task_definition(&td_arn)
            .desired_count(count)
            .launch_type(ecs::types::LaunchType::Ec2)
            .deployment_configuration(
                ecs::types::DeploymentConfiguration::builder()
                    .maximum_percent(150)
                    .minimum_healthy_percent(50)
                    .deployment_circuit_breaker(
                        ecs::types::DeploymentCircuitBreaker::builder()
                            .enable(true)
                            .rollback(true)
                            .build(),
                    )
                    .build(),
            )
            .tags(tag("tier", service))
            .send()
            .await
            .expect("service");
    }
    // A CI pipeline registered the same content again: the services still run revision 1, and
    // taking over revision 2 instead would roll them.
    bed.ecs
        .register_task_definition()
        .family(&family)
        .container_definitions(container)
        .send()
        .await
        .expect("identical revision");
    let scaling = autoscaling(bed);
    let resource_id = format!("service/{cluster}/web");
    scaling
        .register_scalable_target()
        .service_namespace(aas::types::ServiceNamespace::Ecs)
        .scalable_dimension(aas::types::ScalableDimension::EcsServiceDesiredCount)
        .resource_id(&resource_id)
        .min_capacity(2)
        .max_capacity(6)
        .send()
        .await
        .expect("target");
    scaling
        .put_scaling_policy()
        .service_namespace(aas::types::ServiceNamespace::Ecs)
        .scalable_dimension(aas::types::ScalableDimension::EcsServiceDesiredCount)
        .resource_id(&resource_id)
        .policy_name("cpu")
        .policy_type(aas::types::PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(
            aas::types::TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(55.0)
                .predefined_metric_specification(
                    aas::types::PredefinedMetricSpecification::builder()
                        .predefined_metric_type(
                            aas::types::MetricType::EcsServiceAverageCpuUtilization,
                        )
                        .build()
                        .expect("metric"),
                )
                .scale_in_cooldown(120)
                .build()
                .expect("configuration"),
        )
        .send()
        .await
        .expect("policy");
    scaling
        .put_scheduled_action()
        .service_namespace(aas::types::ServiceNamespace::Ecs)
        .scalable_dimension(aas::types::ScalableDimension::EcsServiceDesiredCount)
        .resource_id(&resource_id)
        .scheduled_action_name("night")
        .schedule("cron(0 22 * * ? *)")
        .timezone("Europe/Berlin")
        .start_time(aws_sdk_applicationautoscaling::primitives::DateTime::from_secs(1_798_761_600))
        .scalable_target_action(
            aas::types::ScalableTargetAction::builder()
                .min_capacity(1)
                .max_capacity(2)
                .build(),
        )
        .send()
        .await
        .expect("scheduled action");
    cluster
}

/// The writes the operator may make while taking resources over: its owner tags.
const TAG_WRITES: [&str; 2] = ["TagResource", "UntagResource"];

#[tokio::test]
async fn import_prints_manifests_that_take_over_running_ecs_with_no_writes_but_tags() {
    let bed = Bed::start().await;
    let cluster = running_ecs(&bed).await;

    let before = bed.proxy.requests().len();
    let output = tool(&bed, &["import", "--cluster", &cluster, "-n", bed.ns()]).await;
    let yaml = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{yaml}{}",
        text(&output.stderr)
    );
    let during = operations_since(&bed, before);
    assert!(
        during.iter().all(|op| is_read(op)),
        "import only reads: {during:?}"
    );
    let objects: Vec<Value> = yaml
        .split("\n---\n")
        .map(|d| serde_yaml::from_str(d).expect("yaml document"))
        .collect();
    let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "EcsCluster",
            "EcsTaskDefinition",
            "EcsService",
            "EcsService",
            "EcsScalingPolicy"
        ],
        "{yaml}"
    );
    let by_name = |kind: &str, name: &str| {
        objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind} {name} in {yaml}"))
            .clone()
    };
    let web = by_name("EcsService", "web");
    assert_eq!(web["spec"]["clusterRef"]["name"], json!(cluster));
    assert_eq!(
        web["spec"]["taskDefinitionRef"]["name"],
        json!(format!("{}-web", bed.ns()))
    );
    assert!(
        web["spec"].get("desiredCount").is_none(),
        "the autoscaler owns web's count: {web}"
    );
    assert_eq!(by_name("EcsService", "worker")["spec"]["desiredCount"], 1);
    assert_eq!(
        web["spec"]["deploymentConfiguration"],
        json!({"maximumPercent": 150, "minimumHealthyPercent": 50,
               "deploymentCircuitBreaker": {"enable": true, "rollback": true}}),
        "{web}"
    );
    assert!(web["spec"].get("taskDefinition").is_none() && web["spec"].get("status").is_none());
    let td = by_name("EcsTaskDefinition", &format!("{}-web", bed.ns()));
    let container = &td["spec"]["containerDefinitions"][0];
    assert_eq!(container["image"], "nginx:1.27");
    assert_eq!(
        container["environment"],
        json!([{"name": "MODE", "value": "live"}])
    );
    for read_only in ["taskDefinitionArn", "revision", "status", "registeredAt"] {
        assert!(td["spec"].get(read_only).is_none(), "{read_only}: {td}");
    }
    assert_eq!(
        td["spec"]["tags"],
        json!([{"key": "team", "value": "payments"}])
    );
    let policy = by_name("EcsScalingPolicy", "web");
    assert_eq!(policy["spec"]["serviceRef"]["name"], "web");
    assert_eq!(
        (
            &policy["spec"]["minCapacity"],
            &policy["spec"]["maxCapacity"]
        ),
        (&json!(2), &json!(6))
    );
    assert_eq!(
        policy["spec"]["targetTrackingPolicies"][0]["predefinedMetric"]["type"],
        "ECSServiceAverageCPUUtilization"
    );
    assert_eq!(
        policy["spec"]["scheduledActions"][0],
        json!({"name": "night", "schedule": "cron(0 22 * * ? *)", "timezone": "Europe/Berlin",
               "startTime": "2027-01-01T00:00:00Z", "minCapacity": 1, "maxCapacity": 2})
    );
    assert_eq!(
        td["metadata"]["annotations"]["ecs.operator.dev/adopt-revision"], "1",
        "the revision the services run, not the newer identical one"
    );
    for object in &objects {
        assert_eq!(
            object["metadata"]["annotations"]["ecs.operator.dev/adopt"], "true",
            "{object}"
        );
        assert_eq!(object["spec"]["deletionPolicy"], "Retain", "{object}");
    }

    // Applied with kubectl: everything Ready, and AWS saw no write but the owner tags.
    let file = common::temp_yaml(&format!("import-{}", bed.ns()), &objects);
    let before = bed.proxy.requests().len();
    apply(&bed, &file).await;
    bed.wait_ready("web").await;
    bed.wait_ready("worker").await;
    wait_ready_all(&bed, "ecsclusters,ecstaskdefinitions,ecsscalingpolicies").await;
    let during = operations_since(&bed, before);
    let writes: Vec<&String> = during
        .iter()
        .filter(|op| !is_read(op) && !TAG_WRITES.contains(&op.as_str()))
        .collect();
    assert!(
        writes.is_empty(),
        "taking over wrote {writes:?} (all: {during:?})"
    );
    assert!(
        during.iter().any(|op| op == "TagResource"),
        "the owner tags were added: {during:?}"
    );
    let taken = bed
        .tds()
        .get(&format!("{}-web", bed.ns()))
        .await
        .expect("read");
    assert_eq!(taken.status.clone().and_then(|s| s.revision), Some(1));
    let revision_tags = bed
        .ecs
        .list_tags_for_resource()
        .resource_arn(
            taken
                .status
                .and_then(|s| s.task_definition_arn)
                .expect("recorded ARN"),
        )
        .send()
        .await
        .expect("tags");
    let owner_uid = revision_tags
        .tags()
        .iter()
        .find(|t| t.key() == Some("ecs.operator.dev/owner-uid"))
        .and_then(|t| t.value());
    assert_eq!(
        owner_uid,
        taken.metadata.uid.as_deref(),
        "the gone owner's tags replaced by the adopter's"
    );

    // And the files now say nothing would change.
    let output = tool(&bed, &["diff", "-f", file.to_str().expect("utf-8 path")]).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

#[tokio::test]
async fn verify_finds_what_aws_would_refuse_naming_object_and_field() {
    let bed = Bed::start().await;
    let family = format!("{}-api", bed.ns());
    let bridge_td = bed.register(&family, "nginx:1").await;
    let service = |name: &str, spec: Value| {
        json!({"apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsService",
               "metadata": {"name": name, "namespace": bed.ns()}, "spec": spec})
    };
    let fine = service(
        "fine",
        json!({"cluster": "prod", "taskDefinition": bridge_td, "desiredCount": 1, "launchType": "EC2"}),
    );
    let objects = [
        fine.clone(),
        service(
            "lost",
            json!({"cluster": format!("{}-nope", bed.ns()),
                   "taskDefinition": format!("{family}-missing:3"), "desiredCount": 1}),
        ),
        service(
            "misfit",
            json!({"cluster": "prod", "taskDefinition": bridge_td, "desiredCount": 1,
                   "launchType": "FARGATE",
                   "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}}),
        ),
        json!({"apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsScalingPolicy",
               "metadata": {"name": "ghost", "namespace": bed.ns()},
               "spec": {"resourceId": "service/prod/ghost", "minCapacity": 1, "maxCapacity": 2,
                        "targetTrackingPolicies": [{"policyName": "cpu", "targetValue": 50.0,
                          "predefinedMetric": {"type": "ECSServiceAverageCPUUtilization"}}]}}),
    ];
    let file = common::temp_yaml(&format!("verify-{}", bed.ns()), &objects);
    let before = bed.proxy.requests().len();
    let output = tool(
        &bed,
        &[
            "verify",
            "-f",
            file.to_str().expect("utf-8 path"),
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let during = operations_since(&bed, before);
    assert!(
        during.iter().all(|op| is_read(op)),
        "verify only reads: {during:?}"
    );
    let findings: Vec<Value> = serde_json::from_slice(&output.stdout).expect("json");
    let found: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["name"].as_str().unwrap_or(""),
                f["field"].as_str().unwrap_or("")
            )
        })
        .collect();
    for expected in [
        "lost spec.cluster",
        "lost spec.taskDefinition",
        "misfit spec.networkConfiguration",
        "ghost spec.resourceId",
    ] {
        assert!(
            found.iter().any(|f| f == expected),
            "{expected} in {found:?}"
        );
    }
    // Fargate refuses a bridge task definition, whichever of its fields ECS would quote first.
    assert!(
        found
            .iter()
            .any(|f| f == "misfit spec.launchType" || f == "misfit spec.taskDefinition"),
        "{found:?}"
    );
    assert!(!found.iter().any(|f| f.starts_with("fine ")), "{found:?}");

    let clean = common::temp_yaml(&format!("verify-clean-{}", bed.ns()), &[fine]);
    let output = tool(&bed, &["verify", "-f", clean.to_str().expect("utf-8 path")]).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}
