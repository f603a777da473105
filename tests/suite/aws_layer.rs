//! The `aws` module over real HTTP: AWS SDK -> recording/fault proxy -> moto. Every operation the
//! operator uses, its success path, the error class of realistic failures, and batching measured in
//! calls on the wire.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use ecs_operator::api::{EcsScalingPolicySpec, EcsServiceSpec, EcsTaskDefinitionSpec};
use ecs_operator::aws::ecs::ListedStatus;
use ecs_operator::aws::{AwsClients, AwsErrorKind, AwsSettings};
use ecs_operator::translate::{scaling, service, tags, task_definition};
use ecs_testbed::{AwsProxy, Fault, FaultRule, MotoServer, Overlay};
use serde_json::json;

struct Bed {
    proxy: AwsProxy,
    aws: AwsClients,
    moto_url: String,
    account: String,
}

async fn bed() -> Bed {
    let moto = MotoServer::shared().expect("moto starts");
    let (proxy, account) = common::moto_proxy().await;
    let aws = AwsClients::connect(&AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(proxy.url().to_owned()),
        max_attempts: 1,
        static_credentials: Some(("testing".into(), "testing".into())),
        budgets: BTreeMap::new(),
        batch_window: Duration::from_millis(20),
    })
    .await;
    Bed {
        proxy,
        aws,
        moto_url: moto.url().to_owned(),
        account,
    }
}

fn td_spec(image: &str) -> EcsTaskDefinitionSpec {
    serde_json::from_value(json!({
        "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
        "containerDefinitions": [{"name": "app", "image": image, "portMappings": [{"containerPort": 80}]}]
    }))
    .expect("spec")
}

async fn register(bed: &Bed, family: &str, image: &str) -> String {
    let spec = td_spec(image);
    let request = task_definition::register_request(family, &spec).expect("valid");
    let hash = task_definition::content_hash(&request);
    let owner = tags::ownership("uid-1", "default", family, Some(&hash));
    bed.aws
        .ecs
        .register_task_definition(&request, &owner)
        .await
        .expect("registered")
        .arn
}

/// Creates a cluster through moto directly (the operator never creates clusters).
async fn create_cluster(bed: &Bed, name: &str) {
    let client = ecs_testbed::http::client();
    let (status, _) = ecs_testbed::http::send(
        &client,
        "POST",
        &format!("{}/", bed.moto_url),
        &[
            ("x-amz-target", "AmazonEC2ContainerServiceV20141113.CreateCluster"),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-moto-account-id", &bed.account),
            ("authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=0"),
        ],
        json!({"clusterName": name}).to_string().into(),
    )
    .await
    .expect("create cluster");
    assert_eq!(status, 200);
}

async fn create_service(bed: &Bed, cluster: &str, name: &str, task_definition: &str) -> String {
    let (subnets, groups) = ecs_testbed::aws::moto::default_network(&bed.moto_url, &bed.account)
        .await
        .expect("network");
    assert!(
        !subnets.is_empty() && !groups.is_empty(),
        "moto has a default VPC"
    );
    let spec: EcsServiceSpec = serde_json::from_value(json!({
        "cluster": cluster, "taskDefinition": task_definition, "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": [subnets[0]], "securityGroups": [groups[0]]}}
    }))
    .expect("spec");
    let request = service::create_request(name, &spec, None, 1, &[]).expect("request");
    bed.aws
        .ecs
        .create_service(&request)
        .await
        .expect("created")
        .arn
}

#[tokio::test]
async fn task_definitions_register_describe_list_deregister() {
    let bed = bed().await;
    let first = register(&bed, "web", "nginx:1").await;
    let second = register(&bed, "web", "nginx:2").await;
    let other = register(&bed, "web-admin", "nginx:1").await;
    assert!(
        first.ends_with("task-definition/web:1") && second.ends_with("task-definition/web:2"),
        "{first} {second}"
    );

    let (revision, found_tags) = bed
        .aws
        .ecs
        .describe_task_definition(&second)
        .await
        .expect("ok")
        .expect("exists");
    assert_eq!(
        (
            revision.family.as_str(),
            revision.revision,
            revision.status.as_str()
        ),
        ("web", 2, "ACTIVE")
    );
    assert!(tags::is_owned_by(&found_tags, "uid-1"));
    assert!(tags::value(&found_tags, tags::CONTENT_HASH).is_some());

    // The family prefix "web" also matches "web-admin"; the listing keeps only the family.
    let active = bed
        .aws
        .ecs
        .list_task_definitions("web", ListedStatus::Active)
        .await
        .expect("list");
    assert_eq!(active, vec![first.clone(), second.clone()]);
    assert!(!active.contains(&other));

    let gone = bed
        .aws
        .ecs
        .deregister_task_definition(&first)
        .await
        .expect("deregistered");
    assert_eq!(gone.status.as_str(), "INACTIVE");
    let active = bed
        .aws
        .ecs
        .list_task_definitions("web", ListedStatus::Active)
        .await
        .expect("list");
    assert_eq!(active, vec![second.clone()]);
    let inactive = bed
        .aws
        .ecs
        .list_task_definitions("web", ListedStatus::Inactive)
        .await
        .expect("list");
    assert_eq!(inactive, vec![first]);

    // The proxy saw exactly the operations made, with the registration body as rendered.
    assert_eq!(bed.proxy.count("RegisterTaskDefinition"), 3);
    let registration = bed
        .proxy
        .requests()
        .into_iter()
        .find(|r| r.operation == "RegisterTaskDefinition")
        .expect("recorded");
    assert_eq!(registration.body["family"], "web");
    assert_eq!(
        registration.body["containerDefinitions"][0]["image"],
        "nginx:1"
    );
}

#[tokio::test]
async fn task_definition_errors_are_classified() {
    let bed = bed().await;
    assert_eq!(
        bed.aws
            .ecs
            .describe_task_definition("nope:1")
            .await
            .expect("ok"),
        None
    );
    let missing = bed
        .aws
        .ecs
        .deregister_task_definition("nope:1")
        .await
        .expect_err("missing");
    assert_eq!(missing.kind, AwsErrorKind::NotFound);

    bed.proxy.set_faults(vec![FaultRule {
        operation: "RegisterTaskDefinition".into(),
        probability: None,
        every_nth: None,
        max_times: Some(1),
        fault: Fault::Throttle,
    }]);
    let spec = td_spec("nginx");
    let request = task_definition::register_request("web", &spec).expect("valid");
    let throttled = bed
        .aws
        .ecs
        .register_task_definition(&request, &[])
        .await
        .expect_err("throttled");
    assert_eq!(throttled.kind, AwsErrorKind::Throttled);
    assert_eq!(throttled.code.as_deref(), Some("ThrottlingException"));
    assert!(throttled.is_retryable());
    // The rule allowed one injection: the retry goes through.
    bed.aws
        .ecs
        .register_task_definition(&request, &[])
        .await
        .expect("second try");
    let counted = bed.aws.counters.snapshot();
    assert_eq!(
        counted.get(&("ecs", "RegisterTaskDefinition", "throttled")),
        Some(&1)
    );
    assert_eq!(
        counted.get(&("ecs", "RegisterTaskDefinition", "ok")),
        Some(&1)
    );
}

#[tokio::test]
async fn services_create_describe_update_delete() {
    let bed = bed().await;
    create_cluster(&bed, "prod").await;
    let td1 = register(&bed, "api", "api:1").await;
    let td2 = register(&bed, "api", "api:2").await;
    let arn = create_service(&bed, "prod", "api", &td1).await;

    let observed = bed
        .aws
        .ecs
        .describe_service("prod", "api")
        .await
        .expect("ok")
        .expect("exists");
    assert_eq!(
        (
            observed.arn.as_str(),
            observed.name.as_str(),
            observed.desired_count
        ),
        (arn.as_str(), "api", 1)
    );
    assert_eq!(observed.task_definition, td1);
    assert_eq!(observed.status.as_str(), "ACTIVE");
    assert!(!observed.deployments.is_empty());

    let update = service::UpdateServiceRequest {
        cluster: "prod".into(),
        service: "api".into(),
        task_definition: Some(td2.clone()),
        desired_count: Some(3),
        ..Default::default()
    };
    let updated = bed.aws.ecs.update_service(&update).await.expect("updated");
    assert_eq!(
        (updated.task_definition.as_str(), updated.desired_count),
        (td2.as_str(), 3)
    );
    let sent = bed
        .proxy
        .requests()
        .into_iter()
        .rfind(|r| r.operation == "UpdateService")
        .expect("recorded");
    assert_eq!(
        sent.body,
        json!({"cluster": "prod", "service": "api", "desiredCount": 3, "taskDefinition": td2})
    );

    // Deleting a service that still has tasks is refused (a bad request: Terminal) unless forced.
    let refused = bed
        .aws
        .ecs
        .delete_service("prod", "api", false)
        .await
        .expect_err("refused");
    assert_eq!(refused.kind, AwsErrorKind::Terminal);
    assert_eq!(refused.code.as_deref(), Some("InvalidParameterException"));
    let deleted = bed
        .aws
        .ecs
        .delete_service("prod", "api", true)
        .await
        .expect("deleted");
    assert_eq!(deleted.arn, arn);

    // ECS keeps reporting a deleted service: DRAINING while its tasks stop, then INACTIVE.
    let after = bed
        .aws
        .ecs
        .describe_service("prod", "api")
        .await
        .expect("ok")
        .expect("still reported");
    assert_eq!(after.status.as_str(), "DRAINING");

    let never = service::UpdateServiceRequest {
        service: "never-created".into(),
        ..update
    };
    let missing = bed
        .aws
        .ecs
        .update_service(&never)
        .await
        .expect_err("missing");
    assert_eq!(missing.kind, AwsErrorKind::NotFound);
    assert!(
        bed.aws
            .ecs
            .describe_service("prod", "never-created")
            .await
            .expect("ok")
            .is_none()
    );
}

#[tokio::test]
async fn hundred_concurrent_describes_cost_ten_calls() {
    let bed = bed().await;
    create_cluster(&bed, "prod").await;
    let td = register(&bed, "api", "api:1").await;
    for i in 0..5 {
        create_service(&bed, "prod", &format!("svc-{i}"), &td).await;
    }
    bed.proxy.clear();
    let describes = (0..100).map(|i| {
        let ecs = bed.aws.ecs.clone();
        async move { ecs.describe_service("prod", &format!("svc-{i}")).await }
    });
    let results = futures::future::join_all(describes).await;
    assert_eq!(
        bed.proxy.count("DescribeServices"),
        10,
        "100 names in batches of 10"
    );
    for request in bed.proxy.requests() {
        assert_eq!(request.body["services"].as_array().map(Vec::len), Some(10));
    }
    for (i, result) in results.into_iter().enumerate() {
        let found = result.expect("ok");
        assert_eq!(found.is_some(), i < 5, "svc-{i}");
    }
}

/// A ServiceNotFoundException for a DescribeServices of several services (one of them purged a
/// moment ago, say) does not fail the others: each name is asked for alone, and each caller gets
/// its own service.
#[tokio::test]
async fn a_batch_refused_for_one_service_is_described_one_by_one() {
    let bed = bed().await;
    create_cluster(&bed, "prod").await;
    let td = register(&bed, "api", "api:1").await;
    for name in ["one", "two"] {
        create_service(&bed, "prod", name, &td).await;
    }
    bed.proxy.clear();
    bed.proxy.set_faults(vec![FaultRule {
        operation: "ecs:DescribeServices".into(),
        probability: None,
        every_nth: None,
        max_times: Some(1),
        fault: Fault::AwsError {
            status: 400,
            code: "ServiceNotFoundException".into(),
            message: "Service not found.".into(),
        },
    }]);
    let (one, two) = tokio::join!(
        bed.aws.ecs.describe_service("prod", "one"),
        bed.aws.ecs.describe_service("prod", "two")
    );
    for (name, found) in [("one", one), ("two", two)] {
        let found = found.expect("described").expect("found");
        assert_eq!(found.name, name);
    }
    let calls: Vec<Vec<String>> = bed
        .proxy
        .requests()
        .iter()
        .filter(|r| r.operation == "DescribeServices")
        .map(|r| serde_json::from_value(r.body["services"].clone()).expect("names"))
        .collect();
    assert_eq!(
        calls,
        [vec!["one", "two"], vec!["one"], vec!["two"]],
        "the refused batch, then each name alone"
    );
    assert_eq!(bed.proxy.requests()[0].status, 400);
}

#[tokio::test]
async fn transport_faults_are_transient() {
    let bed = bed().await;
    create_cluster(&bed, "prod").await;
    for fault in [Fault::Unavailable, Fault::InternalError, Fault::Drop] {
        bed.proxy.set_faults(vec![FaultRule {
            operation: "ecs:DescribeServices".into(),
            probability: None,
            every_nth: None,
            max_times: None,
            fault: fault.clone(),
        }]);
        let error = bed
            .aws
            .ecs
            .describe_service("prod", "any")
            .await
            .expect_err("fault");
        assert_eq!(error.kind, AwsErrorKind::Transient, "{fault:?}: {error}");
        assert!(error.is_retryable());
    }
    bed.proxy.set_faults(vec![FaultRule {
        operation: "*".into(),
        probability: None,
        every_nth: Some(2),
        max_times: None,
        fault: Fault::Throttle,
    }]);
    let first = bed.aws.ecs.describe_service("prod", "any").await;
    let second = bed.aws.ecs.describe_service("prod", "any").await;
    assert!(first.is_ok(), "{first:?}");
    assert_eq!(
        second.expect_err("2nd throttled").kind,
        AwsErrorKind::Throttled
    );
}

#[tokio::test]
async fn overlays_simulate_rollout_states() {
    let bed = bed().await;
    create_cluster(&bed, "prod").await;
    let td = register(&bed, "api", "api:1").await;
    create_service(&bed, "prod", "api", &td).await;
    bed.proxy.set_overlays(vec![Overlay {
        service_name: Some("api".into()),
        set: [
            ("/deployments/0/rolloutState".to_owned(), json!("FAILED")),
            (
                "/deployments/0/rolloutStateReason".to_owned(),
                json!("ECS deployment circuit breaker: tasks failed to start."),
            ),
        ]
        .into_iter()
        .collect(),
    }]);
    let observed = bed
        .aws
        .ecs
        .describe_service("prod", "api")
        .await
        .expect("ok")
        .expect("exists");
    assert_eq!(
        observed.deployments[0]
            .rollout_state
            .as_ref()
            .map(|r| r.as_str()),
        Some("FAILED")
    );
    assert!(
        observed.deployments[0]
            .rollout_state_reason
            .as_deref()
            .is_some_and(|r| r.contains("circuit breaker"))
    );
}

#[tokio::test]
async fn tags_add_list_remove() {
    let bed = bed().await;
    let arn = register(&bed, "tagged", "nginx").await;
    let extra = vec![ecs_operator::api::common::Tag {
        key: "team".into(),
        value: Some("payments".into()),
    }];
    bed.aws
        .ecs
        .tag_resource(&arn, &extra)
        .await
        .expect("tagged");
    let listed = bed.aws.ecs.list_tags(&arn).await.expect("listed");
    assert_eq!(tags::value(&listed, "team"), Some("payments"));
    assert!(tags::is_owned_by(&listed, "uid-1"));
    bed.aws
        .ecs
        .untag_resource(&arn, &["team".to_owned()])
        .await
        .expect("untagged");
    let listed = bed.aws.ecs.list_tags(&arn).await.expect("listed");
    assert_eq!(tags::value(&listed, "team"), None);

    let invalid = bed
        .aws
        .ecs
        .tag_resource("not-an-arn", &extra)
        .await
        .expect_err("invalid");
    assert_eq!(invalid.kind, AwsErrorKind::Terminal);
}

#[tokio::test]
async fn autoscaling_targets_policies_and_scheduled_actions() {
    let bed = bed().await;
    create_cluster(&bed, "prod").await;
    let td = register(&bed, "api", "api:1").await;
    create_service(&bed, "prod", "api", &td).await;
    let spec: EcsScalingPolicySpec = serde_json::from_value(json!({
        "resourceId": "service/prod/api", "minCapacity": 2, "maxCapacity": 10,
        "targetTrackingPolicies": [{"policyName": "cpu70", "targetValue": 70.0,
            "predefinedMetric": {"type": "ECSServiceAverageCPUUtilization"}, "scaleInCooldown": 300, "scaleOutCooldown": 60}],
        "scheduledActions": [{"name": "nightly", "schedule": "cron(0 22 ? * * *)", "minCapacity": 1, "maxCapacity": 4}]
    }))
    .expect("spec");
    let requests = scaling::requests(&spec, None, &BTreeMap::new()).expect("requests");
    let autoscaling = &bed.aws.autoscaling;
    autoscaling
        .register_scalable_target(&requests.target)
        .await
        .expect("registered");
    let target = autoscaling
        .describe_scalable_target("service/prod/api")
        .await
        .expect("ok")
        .expect("exists");
    assert_eq!((target.min_capacity, target.max_capacity), (2, 10));
    assert!(
        autoscaling
            .describe_scalable_target("service/prod/other")
            .await
            .expect("ok")
            .is_none()
    );

    let policy = autoscaling
        .put_scaling_policy(&requests.policies[0])
        .await
        .expect("policy");
    assert_eq!(policy.name, "cpu70");
    assert!(!policy.arn.is_empty());
    assert!(
        !policy.alarm_names.is_empty(),
        "target tracking creates alarms"
    );
    let policies = autoscaling
        .describe_scaling_policies("service/prod/api")
        .await
        .expect("policies");
    assert_eq!(
        policies.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["cpu70"]
    );

    autoscaling
        .put_scheduled_action(&requests.scheduled_actions[0])
        .await
        .expect("scheduled");
    let actions = autoscaling
        .describe_scheduled_actions("service/prod/api")
        .await
        .expect("actions");
    assert_eq!(actions.len(), 1);
    assert_eq!(
        (
            actions[0].name.as_str(),
            actions[0].min_capacity,
            actions[0].max_capacity
        ),
        ("nightly", Some(1), Some(4))
    );

    autoscaling
        .delete_scheduled_action("service/prod/api", "nightly")
        .await
        .expect("deleted");
    autoscaling
        .delete_scaling_policy("service/prod/api", "cpu70")
        .await
        .expect("deleted");
    let missing = autoscaling
        .delete_scaling_policy("service/prod/api", "cpu70")
        .await
        .expect_err("gone");
    assert_eq!(missing.kind, AwsErrorKind::NotFound);
    autoscaling
        .deregister_scalable_target("service/prod/api")
        .await
        .expect("deregistered");
    assert!(
        autoscaling
            .describe_scalable_target("service/prod/api")
            .await
            .expect("ok")
            .is_none()
    );
    let missing = autoscaling
        .deregister_scalable_target("service/prod/api")
        .await
        .expect_err("gone");
    assert_eq!(missing.kind, AwsErrorKind::NotFound);

    // A target for a service Application Auto Scaling does not see ("ECS service doesn't exist"):
    // right after CreateService that is eventual consistency, so it is Pending (wait, retry).
    let mut orphan = requests.target.clone();
    orphan.resource_id = "service/prod/none".into();
    let error = autoscaling
        .register_scalable_target(&orphan)
        .await
        .expect_err("no service");
    assert_eq!(error.kind, AwsErrorKind::Pending, "{error}");

    // Throttling on Application Auto Scaling is classified the same way.
    bed.proxy.set_faults(vec![FaultRule {
        operation: "application-autoscaling:*".into(),
        probability: None,
        every_nth: None,
        max_times: Some(1),
        fault: Fault::Throttle,
    }]);
    let throttled = autoscaling
        .describe_scaling_policies("service/prod/api")
        .await
        .expect_err("throttled");
    assert_eq!(throttled.kind, AwsErrorKind::Throttled);
}

#[tokio::test]
async fn concurrent_target_describes_share_calls() {
    let bed = bed().await;
    bed.proxy.clear();
    let describes = (0..120).map(|i| {
        let autoscaling = bed.aws.autoscaling.clone();
        async move {
            autoscaling
                .describe_scalable_target(&format!("service/prod/s{i}"))
                .await
        }
    });
    let results = futures::future::join_all(describes).await;
    assert!(results.iter().all(|r| matches!(r, Ok(None))));
    assert_eq!(
        bed.proxy.count("DescribeScalableTargets"),
        3,
        "120 ids in batches of 50"
    );
}

#[tokio::test]
async fn an_answer_read_ahead_before_a_create_is_not_served_after_it() {
    let bed = bed().await;
    create_cluster(&bed, "prod").await;
    let td = register(&bed, "api", "api:1").await;
    let ecs = bed.aws.ecs.clone();
    ecs.follow_service("prod", "asked");
    ecs.follow_service("prod", "created-meanwhile");
    // A slow DescribeServices for "asked" also reads "created-meanwhile" ahead (still missing)...
    bed.proxy.set_faults(vec![FaultRule {
        operation: "DescribeServices".into(),
        probability: None,
        every_nth: None,
        max_times: Some(1),
        fault: Fault::SlowAnswer { millis: 1500 },
    }]);
    let before = bed.proxy.received();
    let slow = tokio::spawn({
        let ecs = ecs.clone();
        async move {
            ecs.describe_service_cached("prod", "asked", Duration::from_secs(60))
                .await
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while bed.proxy.received() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the describe never started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // ...while the operator creates that service.
    create_service(&bed, "prod", "created-meanwhile", &td).await;
    let asked = slow.await.expect("task").expect("describe");
    assert!(asked.is_none());
    let describes = bed.proxy.count("DescribeServices");
    assert!(
        bed.proxy
            .requests()
            .iter()
            .any(|r| r.operation == "DescribeServices"
                && r.body["services"].as_array().is_some_and(|s| s.len() == 2)),
        "the call read the second service ahead"
    );
    // The answer read before the create is dropped: the next pass reads the service again and
    // finds it.
    let found = ecs
        .describe_service_cached("prod", "created-meanwhile", Duration::from_secs(60))
        .await
        .expect("describe");
    assert!(found.is_some(), "the service just created is seen");
    assert_eq!(bed.proxy.count("DescribeServices"), describes + 1);
}

/// A read-ahead call that starts while a CreateService is on its way and is answered before ECS
/// applies it saw the service missing; that answer is dropped when the create returns.
#[tokio::test]
async fn an_answer_read_ahead_while_a_create_is_in_flight_is_not_served_after_it() {
    let bed = bed().await;
    create_cluster(&bed, "prod").await;
    let td = register(&bed, "api", "api:1").await;
    let ecs = bed.aws.ecs.clone();
    ecs.follow_service("prod", "asked");
    ecs.follow_service("prod", "being-created");
    // The create reaches ECS only after a second...
    bed.proxy.set_faults(vec![FaultRule {
        operation: "CreateService".into(),
        probability: None,
        every_nth: None,
        max_times: Some(1),
        fault: Fault::Latency { millis: 1500 },
    }]);
    let before = bed.proxy.received();
    let create = create_service(&bed, "prod", "being-created", &td);
    // ...meanwhile a describe of a neighbour reads it ahead, still missing.
    let read_ahead = async {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while bed.proxy.received() == before {
            assert!(
                std::time::Instant::now() < deadline,
                "the create never started"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        ecs.describe_service_cached("prod", "asked", Duration::from_secs(60))
            .await
            .expect("describe")
    };
    let (_, asked) = tokio::join!(create, read_ahead);
    assert!(asked.is_none());
    assert!(
        bed.proxy
            .requests()
            .iter()
            .any(|r| r.operation == "DescribeServices"
                && r.status == 200
                && r.body["services"].as_array().is_some_and(|s| s.len() == 2)),
        "the call read the service being created ahead"
    );
    let created_at = bed
        .proxy
        .requests()
        .iter()
        .find(|r| r.operation == "CreateService")
        .map(|r| r.seq);
    let read_at = bed
        .proxy
        .requests()
        .iter()
        .find(|r| r.operation == "DescribeServices")
        .map(|r| r.seq);
    // It started after the create arrived (the loop above) and was answered before the create
    // landed (records are kept in the order calls end).
    assert!(read_at < created_at, "the read ended before the create did");
    let describes = bed.proxy.count("DescribeServices");
    let found = ecs
        .describe_service_cached("prod", "being-created", Duration::from_secs(60))
        .await
        .expect("describe");
    assert!(found.is_some(), "the service just created is seen");
    assert_eq!(bed.proxy.count("DescribeServices"), describes + 1);
}
