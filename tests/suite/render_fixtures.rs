//! The seed fixtures and every example render to the right AWS requests, and those requests reach
//! the wire byte-for-byte as rendered when sent through the real AWS SDK serializers.

use crate::common;

use std::path::Path;

use aws_sdk_applicationautoscaling as aas;
use aws_sdk_ecs as ecs;
use aws_smithy_http_client::test_util::capture_request;
use ecs_operator::aws::sdk;
use ecs_operator::render::{self, RenderedRequest};
use ecs_operator::translate::{capacity_provider, cluster, scaling, service, task};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use common::{numbers_as_f64, read_json, root, temp_yaml};

/// Seed fixtures that are task definitions (whole or partial), per the seed README.
const TASK_DEFINITION_FIXTURES: [&str; 7] = [
    "basic-task-definition",
    "multi-container-task",
    "task-definition-with-health-check",
    "using-aws-secrets-manager",
    "using-systems-manager-parameter-store",
    "cloudwatch-logs",
    "task-definition-best-practices",
];

fn render_documents(name: &str, documents: &[Value]) -> render::Rendered {
    let path = temp_yaml(name, documents);
    let (objects, _notes) = render::load(&path).expect("load");
    render::render(&objects)
}

#[test]
fn every_task_definition_fixture_renders_to_itself() {
    for fixture in TASK_DEFINITION_FIXTURES {
        let body = read_json(&root().join(format!("tests/fixtures/seed/{fixture}.json")));
        let object = json!({
            "apiVersion": "ecs.operator.dev/v1alpha1",
            "kind": "EcsTaskDefinition",
            "metadata": {"name": fixture},
            "spec": body,
        });
        let rendered = render_documents(fixture, &[object]);
        assert!(
            rendered.errors.is_empty(),
            "{fixture}: {:?}",
            rendered.errors
        );
        assert_eq!(rendered.requests.len(), 1, "{fixture}");
        let request = &rendered.requests[0];
        assert_eq!(request.operation, "RegisterTaskDefinition");
        assert_eq!(request.service, "ecs");

        // Partial fixtures have no family: RegisterTaskDefinition requires one, and it defaults
        // to the object's name. Everything else must come out exactly as it went in.
        let mut expected = body.clone();
        if expected.get("family").is_none() {
            expected["family"] = json!(fixture);
        }
        assert_eq!(request.input, expected, "{fixture}");
    }
}

#[test]
fn describe_task_definition_output_pastes_unchanged() {
    let described = read_json(&root().join("tests/fixtures/describe-task-definition.json"));
    let object = json!({
        "apiVersion": "ecs.operator.dev/v1alpha1",
        "kind": "EcsTaskDefinition",
        "metadata": {"name": "orders-api"},
        "spec": described,
    });
    let rendered = render_documents("described", &[object]);
    assert!(rendered.errors.is_empty(), "{:?}", rendered.errors);
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    // The read-only members of describe output are not part of a registration.
    let mut expected = described.clone();
    let expected_map = expected.as_object_mut().expect("object");
    for read_only in [
        "taskDefinitionArn",
        "revision",
        "status",
        "requiresAttributes",
        "compatibilities",
        "registeredAt",
        "registeredBy",
    ] {
        assert!(expected_map.remove(read_only).is_some(), "{read_only}");
    }
    assert_eq!(rendered.requests[0].input, expected);
}

#[test]
fn the_service_fixture_renders_to_itself() {
    let body =
        read_json(&root().join("tests/fixtures/seed/application-load-balancer-integration.json"));
    let mut spec = body.clone();
    spec.as_object_mut().expect("object").remove("serviceName");
    let object = json!({
        "apiVersion": "ecs.operator.dev/v1alpha1",
        "kind": "EcsService",
        "metadata": {"name": "web-service"},
        "spec": spec,
    });
    let rendered = render_documents("alb", &[object]);
    assert!(rendered.errors.is_empty(), "{:?}", rendered.errors);
    assert_eq!(rendered.requests[0].operation, "CreateService");
    assert_eq!(rendered.requests[0].input, body);
}

#[test]
fn every_example_renders_without_errors_or_warnings() {
    let (objects, notes) = render::load(&root().join("examples")).expect("load examples");
    assert!(notes.is_empty(), "{notes:?}");
    let kinds: Vec<&str> = objects.iter().map(|o| o.kind.as_str()).collect();
    for kind in ["EcsTaskDefinition", "EcsService", "EcsScalingPolicy"] {
        assert!(kinds.contains(&kind), "no {kind} example");
    }
    let rendered = render::render(&objects);
    assert!(rendered.errors.is_empty(), "{:?}", rendered.errors);
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    assert!(rendered.notes.is_empty(), "{:?}", rendered.notes);
    for object in &objects {
        assert!(
            rendered
                .requests
                .iter()
                .any(|r| r.name == object.name && r.kind == object.kind),
            "{} {} rendered nothing",
            object.kind,
            object.name
        );
    }
}

#[test]
fn references_resolve_within_the_rendered_set() {
    let (objects, _) = render::load(&root().join("examples")).expect("load examples");
    let rendered = render::render(&objects);
    let find = |kind: &str, name: &str, operation: &str| -> &RenderedRequest {
        rendered
            .requests
            .iter()
            .find(|r| r.kind == kind && r.name == name && r.operation == operation)
            .unwrap_or_else(|| panic!("{kind} {name} {operation}"))
    };
    // taskDefinitionRef -> the referenced object's family.
    let spot = find("EcsService", "spot-mix", "CreateService");
    assert_eq!(spot.input["taskDefinition"], "my-app");
    // desiredCount omitted -> the scaling policy's minCapacity at creation.
    let discoverable = find("EcsService", "discoverable", "CreateService");
    assert_eq!(discoverable.input["desiredCount"], 2);
    // serviceRef -> service/<cluster>/<serviceName>.
    let target = find(
        "EcsScalingPolicy",
        "cpu-target-tracking",
        "RegisterScalableTarget",
    );
    assert_eq!(
        target.input["ResourceId"],
        "service/my-cluster/discoverable"
    );
}

/// Sends one rendered request through the real SDK (with a capturing HTTP client instead of the
/// network) and returns the JSON body that would have gone to AWS.
async fn wire_body(request: &RenderedRequest) -> Value {
    let (http, captured) = capture_request(None);
    let credentials = ecs::config::Credentials::new("AKID", "SECRET", None, None, "test");
    let region = ecs::config::Region::new("us-east-1");
    let ecs_client = ecs::Client::from_conf(
        ecs::Config::builder()
            .behavior_version(ecs::config::BehaviorVersion::latest())
            .region(region.clone())
            .credentials_provider(credentials.clone())
            .http_client(http.clone())
            .build(),
    );
    let aas_client = aas::Client::from_conf(
        aas::Config::builder()
            .behavior_version(aas::config::BehaviorVersion::latest())
            .region(region)
            .credentials_provider(credentials)
            .http_client(http)
            .build(),
    );
    let input = request.input.clone();
    // The captured answer is an empty 200, which the SDK may fail to parse: only the request
    // matters here, so the operation's result is ignored.
    match request.operation {
        "RegisterTaskDefinition" => {
            let body = serde_json::from_value(input).expect("body");
            let _ = sdk::register_task_definition(&body, &[])
                .expect("builder")
                .send_with(&ecs_client)
                .await;
        }
        "CreateService" => {
            let body: service::CreateServiceRequest = serde_json::from_value(input).expect("body");
            let _ = sdk::create_service(&body)
                .expect("builder")
                .send_with(&ecs_client)
                .await;
        }
        "RegisterScalableTarget" => {
            let body: scaling::RegisterScalableTargetRequest =
                serde_json::from_value(input).expect("body");
            let _ = sdk::register_scalable_target(&body)
                .expect("builder")
                .send_with(&aas_client)
                .await;
        }
        "PutScalingPolicy" => {
            let body: scaling::PutScalingPolicyRequest =
                serde_json::from_value(input).expect("body");
            let _ = sdk::put_scaling_policy(&body)
                .expect("builder")
                .send_with(&aas_client)
                .await;
        }
        "PutScheduledAction" => {
            let body: scaling::PutScheduledActionRequest =
                serde_json::from_value(input).expect("body");
            let _ = sdk::put_scheduled_action(&body)
                .expect("builder")
                .send_with(&aas_client)
                .await;
        }
        "CreateCluster" => {
            let body: cluster::CreateClusterRequest = serde_json::from_value(input).expect("body");
            let _ = sdk::create_cluster(&body)
                .expect("builder")
                .send_with(&ecs_client)
                .await;
        }
        "CreateCapacityProvider" => {
            let body: capacity_provider::CreateCapacityProviderRequest =
                serde_json::from_value(input).expect("body");
            let _ = sdk::create_capacity_provider(&body)
                .expect("builder")
                .send_with(&ecs_client)
                .await;
        }
        "RunTask" => {
            let body: task::RunTaskRequest = serde_json::from_value(input).expect("body");
            let _ = sdk::run_task(&body)
                .expect("builder")
                .send_with(&ecs_client)
                .await;
        }
        other => panic!("no wire check for {other}"),
    }
    let sent = captured.expect_request();
    let target = sent
        .headers()
        .get("x-amz-target")
        .unwrap_or_default()
        .to_owned();
    assert!(
        target.ends_with(request.operation),
        "{target} for {}",
        request.operation
    );
    serde_json::from_slice(sent.body().bytes().expect("in-memory body")).expect("JSON body")
}

/// The SDK models a few members as plain integers rather than optional ones and always sends them,
/// with 0 (or false) when unset (container `cpu`, capacity provider `base` and `weight`, execute
/// command log encryption); that is also what AWS assumes when they are absent. Drops such
/// defaults where the rendered input has no member at all.
fn drop_sdk_zero_defaults(wire: &mut Value, rendered: &Value) {
    const ZERO_DEFAULTED: [&str; 3] = ["cpu", "base", "weight"];
    // Likewise plain booleans, sent as false when unset (execute command log encryption).
    const FALSE_DEFAULTED: [&str; 2] = ["cloudWatchEncryptionEnabled", "s3EncryptionEnabled"];
    match (wire, rendered) {
        (Value::Object(wire), Value::Object(rendered)) => {
            wire.retain(|key, value| {
                let default = (ZERO_DEFAULTED.contains(&key.as_str())
                    && value.as_f64() == Some(0.0))
                    || (FALSE_DEFAULTED.contains(&key.as_str()) && value == &Value::Bool(false));
                !default || rendered.contains_key(key)
            });
            for (key, value) in wire.iter_mut() {
                if let Some(rendered_value) = rendered.get(key) {
                    drop_sdk_zero_defaults(value, rendered_value);
                }
            }
        }
        (Value::Array(wire), Value::Array(rendered)) => {
            for (value, rendered_value) in wire.iter_mut().zip(rendered) {
                drop_sdk_zero_defaults(value, rendered_value);
            }
        }
        _ => {}
    }
}

async fn assert_wire_matches(path: &Path) {
    let (objects, _) = render::load(path).expect("load");
    let rendered = render::render(&objects);
    assert!(rendered.errors.is_empty(), "{:?}", rendered.errors);
    for request in &rendered.requests {
        let mut body = wire_body(request).await;
        drop_sdk_zero_defaults(&mut body, &request.input);
        // The SDK fills in an idempotency token when none is set (RunTask's clientToken);
        // in-cluster the operator sets its own, from the object's UID.
        if request.input.get("clientToken").is_none()
            && let Some(wire) = body.as_object_mut()
        {
            wire.remove("clientToken");
        }
        let mut input = request.input.clone();
        // Timestamps: render prints RFC 3339 (which the AWS CLI takes); the JSON protocol sends
        // epoch seconds. Compare them as instants.
        for key in ["StartTime", "EndTime"] {
            if let Some(raw) = input.get(key).and_then(Value::as_str) {
                let secs = scaling::parse_rfc3339(raw).expect("rendered time parses");
                input[key] = json!(secs);
            }
        }
        assert_eq!(
            numbers_as_f64(&body),
            numbers_as_f64(&input),
            "{} {} {}",
            request.kind,
            request.name,
            request.operation
        );
    }
}

#[tokio::test]
async fn every_example_reaches_the_wire_as_rendered() {
    assert_wire_matches(&root().join("examples")).await;
}

#[tokio::test]
async fn every_task_definition_member_reaches_the_wire() {
    assert_wire_matches(&root().join("tests/fixtures/all-members.yaml")).await;
}
