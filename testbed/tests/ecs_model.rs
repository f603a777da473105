//! The AWS proxy's ECS service model over real HTTP with the AWS SDK: deployments and rollouts,
//! the circuit breaker and its rollback, draining to INACTIVE, CreateService idempotency, and each
//! documented rejection with its code and message. moto alone behaves differently on every one of
//! these (see testbed/README.md).

use std::time::{Duration, Instant};

use aws_sdk_applicationautoscaling as aas;
use aws_sdk_ecs as ecs;
use ecs::types::{
    CapacityProviderStrategyItem, DeploymentConfiguration, LaunchType, PlacementStrategy,
    PlacementStrategyType, Tag,
};
use serde_json::json;

mod model_bed;

use model_bed::*;

fn rollout(service: &ecs::types::Service) -> Vec<(String, String, String)> {
    service
        .deployments()
        .iter()
        .map(|d| {
            (
                d.status().unwrap_or_default().to_owned(),
                d.task_definition()
                    .unwrap_or_default()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                d.rollout_state()
                    .map(|r| r.as_str().to_owned())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn messages(service: &ecs::types::Service) -> Vec<String> {
    service
        .events()
        .iter()
        .map(|e| e.message().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_rollout_completes_with_events_and_a_new_task_definition_deploys_again() {
    let bed = bed().await;
    let v1 = bed.register("web", "nginx:1").await;
    let created = bed.create("web", &v1).send().await.expect("created");
    let service = created.service().expect("service");
    assert_eq!(
        rollout(service),
        [("PRIMARY".into(), "web:1".into(), "IN_PROGRESS".into())]
    );
    let settled = bed.wait("web", "completed", completed).await;
    assert_eq!((settled.running_count(), settled.pending_count()), (2, 0));
    let events = messages(&settled);
    assert_eq!(events[0], "(service web) has reached a steady state.");
    assert!(
        events[1].starts_with("(service web) (deployment ecs-svc/")
            && events[1].ends_with(") deployment completed."),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|m| m.starts_with("(service web) has started 2 tasks: (task "))
    );
    let reason = settled.deployments()[0]
        .rollout_state_reason()
        .unwrap_or_default()
        .to_owned();
    assert!(
        reason.starts_with("ECS deployment ecs-svc/") && reason.ends_with(" completed."),
        "{reason}"
    );

    // A new task definition: a new PRIMARY, the old one ACTIVE until the rollout completes.
    let v2 = bed.register("web", "nginx:2").await;
    let updated = bed
        .ecs
        .update_service()
        .cluster("prod")
        .service("web")
        .task_definition(&v2)
        .send()
        .await
        .expect("updated");
    assert_eq!(
        rollout(updated.service().expect("service")),
        [
            ("PRIMARY".into(), "web:2".into(), "IN_PROGRESS".into()),
            ("ACTIVE".into(), "web:1".into(), "COMPLETED".into())
        ]
    );
    let settled = bed.wait("web", "rolled to web:2", completed).await;
    assert_eq!(settled.task_definition(), Some(v2.as_str()));
}

#[tokio::test]
async fn changes_that_start_a_deployment_and_changes_that_do_not() {
    let bed = bed().await;
    let v1 = bed.register("api", "nginx:1").await;
    bed.create("api", &v1).send().await.expect("created");
    bed.wait("api", "completed", completed).await;
    // desiredCount, deploymentConfiguration, placement, grace period: no deployment.
    let update = bed
        .ecs
        .update_service()
        .cluster("prod")
        .service("api")
        .desired_count(3)
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .maximum_percent(150)
                .minimum_healthy_percent(50)
                .build(),
        )
        .placement_strategy(
            PlacementStrategy::builder()
                .r#type(PlacementStrategyType::Spread)
                .field("instanceId")
                .build(),
        )
        .health_check_grace_period_seconds(30)
        .send()
        .await
        .expect("updated");
    assert_eq!(
        update.service().expect("s").deployments().len(),
        1,
        "no new deployment"
    );
    let scaled = bed
        .wait("api", "scaled to 3", |s| s.running_count() == 3)
        .await;
    assert_eq!(scaled.deployments().len(), 1);
    assert_eq!(
        scaled
            .deployment_configuration()
            .and_then(|d| d.maximum_percent()),
        Some(150)
    );
    // forceNewDeployment: a new deployment of the same task definition.
    let forced = bed
        .ecs
        .update_service()
        .cluster("prod")
        .service("api")
        .force_new_deployment(true)
        .send()
        .await
        .expect("forced");
    assert_eq!(
        rollout(forced.service().expect("s"))
            .iter()
            .map(|(s, t, _)| (s.clone(), t.clone()))
            .collect::<Vec<_>>(),
        [
            ("PRIMARY".to_owned(), "api:1".to_owned()),
            ("ACTIVE".to_owned(), "api:1".to_owned())
        ]
    );
}

#[tokio::test]
async fn a_failing_image_is_rolled_back_by_the_circuit_breaker() {
    let bed = bed().await;
    let good = bed.register("shop", "nginx:1").await;
    bed.create("shop", &good)
        .deployment_configuration(circuit_breaker(true))
        .send()
        .await
        .expect("created");
    bed.wait("shop", "completed", completed).await;
    let bad = bed.register("shop", "nginx:broken").await;
    bed.ecs
        .update_service()
        .cluster("prod")
        .service("shop")
        .task_definition(&bad)
        .send()
        .await
        .expect("updated");
    let rolling_back = bed
        .wait("shop", "rolling back", |s| {
            s.deployments().first().and_then(|d| d.task_definition()) == Some(good.as_str())
        })
        .await;
    let events = messages(&rolling_back);
    assert!(
        events
            .iter()
            .any(|m| m.starts_with("(service shop) (deployment ecs-svc/")
                && m.ends_with(") deployment failed: tasks failed to start.")),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|m| m.starts_with("(service shop) rolling back to deployment ecs-svc/")),
        "{events:?}"
    );
    let reason = rolling_back.deployments()[0]
        .rollout_state_reason()
        .unwrap_or_default()
        .to_owned();
    assert!(
        reason.starts_with("ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/"),
        "{reason}"
    );
    // The failed deployment stays listed, FAILED, while the rollback runs; it tripped at the
    // documented threshold (half the desired count of 2, but at least 3 failed tasks).
    let failed = rolling_back
        .deployments()
        .iter()
        .find(|d| d.task_definition() == Some(bad.as_str()))
        .expect("the failed deployment is still listed");
    assert_eq!(
        failed.rollout_state(),
        Some(&ecs::types::DeploymentRolloutState::Failed)
    );
    assert_eq!(failed.status(), Some("ACTIVE"));
    assert!(failed.failed_tasks() >= 3, "{failed:?}");
    let back = bed
        .wait("shop", "back on the good revision", completed)
        .await;
    assert_eq!(back.task_definition(), Some(good.as_str()));
    assert_eq!(back.running_count(), 2);
}

/// The breaker trips at half the desired count, not before: ten tasks wanted, five must fail
/// (with two wanted it would trip at the minimum of three).
#[tokio::test]
async fn the_circuit_breaker_trips_at_half_the_desired_count() {
    let bed = bed().await;
    let bad = bed.register("big", "nginx:broken").await;
    bed.create("big", &bad)
        .desired_count(10)
        .deployment_configuration(circuit_breaker(false))
        .send()
        .await
        .expect("created");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut most_failed_in_progress = 0;
    let failed_tasks = loop {
        let service = bed.describe("big").await;
        let d = &service.deployments()[0];
        if d.rollout_state() == Some(&ecs::types::DeploymentRolloutState::Failed) {
            break d.failed_tasks();
        }
        most_failed_in_progress = most_failed_in_progress.max(d.failed_tasks());
        assert!(Instant::now() < deadline, "never FAILED: {d:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(failed_tasks >= 5, "{failed_tasks}");
    assert!(
        (3..5).contains(&most_failed_in_progress),
        "still IN_PROGRESS with 3 and 4 failed tasks, saw at most {most_failed_in_progress}"
    );
}

/// ListServiceDeployments: one service deployment per deployment ECS starts; the failed one is
/// ROLLBACK_SUCCESSFUL once the circuit breaker's rollback completed (no new one for the rollback),
/// `currentServiceDeployment` names the newest, and maxResults outside 1..100 is refused.
#[tokio::test]
async fn service_deployments_record_a_circuit_breaker_rollback() {
    use ecs::types::ServiceDeploymentStatus as S;
    let bed = bed().await;
    let good = bed.register("roll", "nginx:1").await;
    bed.create("roll", &good)
        .deployment_configuration(circuit_breaker(true))
        .send()
        .await
        .expect("created");
    bed.wait("roll", "completed", completed).await;
    let bad = bed.register("roll", "nginx:broken").await;
    let updated = bed
        .ecs
        .update_service()
        .cluster("prod")
        .service("roll")
        .task_definition(&bad)
        .send()
        .await
        .expect("updated");
    let started = updated
        .service()
        .and_then(|s| s.current_service_deployment())
        .expect("currentServiceDeployment")
        .to_owned();
    let list = || async {
        bed.ecs
            .list_service_deployments()
            .cluster("prod")
            .service("roll")
            .send()
            .await
            .expect("listed")
            .service_deployments()
            .iter()
            .map(|d| {
                (
                    d.service_deployment_arn().unwrap_or_default().to_owned(),
                    d.status().cloned(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(list().await[0], (started.clone(), Some(S::InProgress)));
    bed.wait("roll", "back on the good revision", |s| {
        completed(s) && s.task_definition() == Some(good.as_str())
    })
    .await;
    let deployments = list().await;
    assert_eq!(
        deployments,
        [
            (started.clone(), Some(S::RollbackSuccessful)),
            (deployments[1].0.clone(), Some(S::Successful)),
        ],
        "the rollback ran under the failed deployment's service deployment"
    );
    assert!(
        started.contains(":service-deployment/prod/roll/"),
        "{started}"
    );
    assert_eq!(
        bed.describe("roll").await.current_service_deployment(),
        Some(started.as_str())
    );
    let rollbacks = bed
        .ecs
        .list_service_deployments()
        .cluster("prod")
        .service("roll")
        .status(S::RollbackSuccessful)
        .send()
        .await
        .expect("filtered");
    assert_eq!(rollbacks.service_deployments().len(), 1);
    for max in [0, 101] {
        let refused = bed
            .ecs
            .list_service_deployments()
            .cluster("prod")
            .service("roll")
            .max_results(max)
            .send()
            .await
            .expect_err("maxResults out of range");
        assert_eq!(
            err_code(refused.as_service_error().expect("service error")).0,
            "InvalidParameterException"
        );
    }
}

#[tokio::test]
async fn without_a_breaker_a_failing_rollout_stays_in_progress() {
    let bed = bed().await;
    let bad = bed.register("stuck", "nginx:broken").await;
    bed.create("stuck", &bad).send().await.expect("created");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let service = bed.describe("stuck").await;
    let primary = &service.deployments()[0];
    assert_eq!(
        primary.rollout_state(),
        Some(&ecs::types::DeploymentRolloutState::InProgress)
    );
    assert!(primary.failed_tasks() > 0, "{primary:?}");
    assert_eq!(service.running_count(), 0);
    assert!(messages(&service).contains(
        &"(service stuck) is unable to consistently start tasks successfully.".to_owned()
    ));
}

#[tokio::test]
async fn deletion_drains_to_inactive_and_the_name_is_reusable_only_then() {
    let bed = bed().await;
    let v1 = bed.register("old", "nginx:1").await;
    bed.create("old", &v1).send().await.expect("created");
    let refused = bed
        .ecs
        .delete_service()
        .cluster("prod")
        .service("old")
        .send()
        .await
        .expect_err("scaled above 0");
    assert_eq!(
        err_code(&refused.into_service_error()),
        (
            "InvalidParameterException".into(),
            "The service cannot be stopped while it is scaled above 0.".into()
        )
    );
    let deleted = bed
        .ecs
        .delete_service()
        .cluster("prod")
        .service("old")
        .force(true)
        .send()
        .await
        .expect("deleted");
    assert_eq!(deleted.service().and_then(|s| s.status()), Some("DRAINING"));
    let listed = bed
        .ecs
        .list_services()
        .cluster("prod")
        .send()
        .await
        .expect("listed");
    assert!(
        listed.service_arns().is_empty(),
        "a draining service is not listed"
    );
    let again = bed
        .create("old", &v1)
        .send()
        .await
        .expect_err("still draining");
    assert_eq!(
        err_code(&again.into_service_error()),
        (
            "InvalidParameterException".into(),
            "Unable to Start a service that is still Draining.".into()
        )
    );
    bed.wait("old", "INACTIVE", |s| s.status() == Some("INACTIVE"))
        .await;
    let update = bed
        .ecs
        .update_service()
        .cluster("prod")
        .service("old")
        .desired_count(1)
        .send()
        .await
        .expect_err("inactive");
    assert_eq!(
        err_code(&update.into_service_error()),
        (
            "ServiceNotActiveException".into(),
            "Service was not ACTIVE.".into()
        )
    );
    bed.create("old", &v1)
        .send()
        .await
        .expect("the name is free once INACTIVE");
}

#[tokio::test]
async fn create_service_is_idempotent_only_for_the_same_token_and_parameters() {
    let bed = bed().await;
    let v1 = bed.register("idem", "nginx:1").await;
    let first = bed
        .create("idem", &v1)
        .client_token("token-1")
        .send()
        .await
        .expect("created");
    let second = bed
        .create("idem", &v1)
        .client_token("token-1")
        .send()
        .await
        .expect("same token, same parameters");
    assert_eq!(
        first.service().and_then(|s| s.service_arn()),
        second.service().and_then(|s| s.service_arn())
    );
    let other = bed
        .create("idem", &v1)
        .client_token("token-1")
        .desired_count(5)
        .send()
        .await
        .expect_err("other parameters");
    assert_eq!(
        err_code(&other.into_service_error()),
        (
            "InvalidParameterException".into(),
            "Creation of service was not idempotent.".into()
        )
    );
}

#[tokio::test]
async fn documented_rejections() {
    let bed = bed().await;
    let v1 = bed.register("rules", "nginx:1").await;
    let fargate = CapacityProviderStrategyItem::builder()
        .capacity_provider("FARGATE")
        .weight(1)
        .build()
        .expect("item");
    let both = bed
        .create("both", &v1)
        .capacity_provider_strategy(fargate.clone())
        .send()
        .await
        .expect_err("both");
    assert_eq!(
        err_code(&both.into_service_error()),
        ("InvalidParameterException".into(), "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.".into())
    );
    let placed = bed
        .create("placed", &v1)
        .launch_type(LaunchType::Fargate)
        .placement_strategy(
            PlacementStrategy::builder()
                .r#type(PlacementStrategyType::Random)
                .build(),
        )
        .send()
        .await
        .expect_err("placement on fargate");
    assert_eq!(
        err_code(&placed.into_service_error()),
        (
            "InvalidParameterException".into(),
            "Placement strategies are not supported with FARGATE launch type".into()
        )
    );
    // Launch type -> capacity provider strategy without forceNewDeployment.
    bed.create("switch", &v1).send().await.expect("created");
    let switch = bed
        .ecs
        .update_service()
        .cluster("prod")
        .service("switch")
        .capacity_provider_strategy(fargate.clone())
        .send()
        .await
        .expect_err("no force");
    assert_eq!(
        err_code(&switch.into_service_error()),
        ("InvalidParameterException".into(), "When switching from launch type to capacity provider strategy on an existing service, or making a change to a capacity provider strategy on a service that is already using one, you must force a new deployment.".into())
    );
    // (An EC2 capacity provider: this bridge task definition does not fit FARGATE.)
    bed.ecs
        .create_capacity_provider()
        .name("asg-provider")
        .auto_scaling_group_provider(
            ecs::types::AutoScalingGroupProvider::builder()
                .auto_scaling_group_arn(
                    ecs_testbed::aws::query::auto_scaling_group(
                        bed.proxy.url(),
                        "asg-provider-group",
                    )
                    .await
                    .expect("Auto Scaling group"),
                )
                .build()
                .expect("group"),
        )
        .send()
        .await
        .expect("provider");
    bed.ecs
        .put_cluster_capacity_providers()
        .cluster("prod")
        .capacity_providers("FARGATE")
        .capacity_providers("FARGATE_SPOT")
        .capacity_providers("asg-provider")
        .set_default_capacity_provider_strategy(Some(Vec::new()))
        .send()
        .await
        .expect("associated");
    bed.ecs
        .update_service()
        .cluster("prod")
        .service("switch")
        .capacity_provider_strategy(
            CapacityProviderStrategyItem::builder()
                .capacity_provider("asg-provider")
                .weight(1)
                .build()
                .expect("item"),
        )
        .force_new_deployment(true)
        .send()
        .await
        .expect("with force");
    // An INACTIVE task definition cannot be deployed.
    let v2 = bed.register("rules", "nginx:2").await;
    bed.ecs
        .deregister_task_definition()
        .task_definition(&v2)
        .send()
        .await
        .expect("deregistered");
    let inactive = bed
        .ecs
        .update_service()
        .cluster("prod")
        .service("switch")
        .task_definition(&v2)
        .send()
        .await
        .expect_err("inactive");
    assert_eq!(
        err_code(&inactive.into_service_error()).0,
        "ClientException"
    );
    // More than 50 tags on a service.
    let arn = bed
        .describe("switch")
        .await
        .service_arn()
        .expect("arn")
        .to_owned();
    let tags: Vec<Tag> = (0..51)
        .map(|i| Tag::builder().key(format!("k{i}")).value("v").build())
        .collect();
    let too_many = bed
        .ecs
        .tag_resource()
        .resource_arn(&arn)
        .set_tags(Some(tags))
        .send()
        .await
        .expect_err("51 tags");
    assert_eq!(
        err_code(&too_many.into_service_error()).0,
        "LimitExceededException"
    );
    // A scalable target re-registered with tags.
    let target = || {
        bed.aas
            .register_scalable_target()
            .service_namespace(aas::types::ServiceNamespace::Ecs)
            .scalable_dimension(aas::types::ScalableDimension::EcsServiceDesiredCount)
            .resource_id("service/prod/switch")
            .min_capacity(1)
            .max_capacity(3)
            .tags("team", "a")
    };
    target().send().await.expect("new target with tags");
    let retagged = target()
        .send()
        .await
        .expect_err("tags on an existing target");
    assert_eq!(
        err_code(&retagged.into_service_error()),
        ("ValidationException".into(), "The scalable target that you tried to tag already exists. To update tags on an existing scalable target, use the TagResource API.".into())
    );
    // "If you specify a scalable dimension, you must also specify a resource ID."
    let dimension_alone = bed
        .aas
        .describe_scalable_targets()
        .service_namespace(aas::types::ServiceNamespace::Dynamodb)
        .scalable_dimension(aas::types::ScalableDimension::DynamoDbTableReadCapacityUnits)
        .send()
        .await
        .expect_err("a dimension without resource ids");
    assert_eq!(
        err_code(&dimension_alone.into_service_error()).0,
        "ValidationException"
    );
    // Page sizes: policies "between 1 and 10", scheduled actions "between 1 and 50".
    let policies = |n: i32| {
        bed.aas
            .describe_scaling_policies()
            .service_namespace(aas::types::ServiceNamespace::Ecs)
            .max_results(n)
            .send()
    };
    for n in [0, 11] {
        let refused = policies(n).await.expect_err("a page of 0 or 11 policies");
        assert_eq!(
            err_code(&refused.into_service_error()).0,
            "ValidationException"
        );
    }
    policies(10).await.expect("10 policies a page");
    let actions = |n: i32| {
        bed.aas
            .describe_scheduled_actions()
            .service_namespace(aas::types::ServiceNamespace::Ecs)
            .max_results(n)
            .send()
    };
    let many = actions(51).await.expect_err("51 actions a page");
    assert_eq!(
        err_code(&many.into_service_error()).0,
        "ValidationException"
    );
    actions(50).await.expect("50 actions a page");
}

#[tokio::test]
async fn deleting_a_service_removes_its_scalable_target() {
    let bed = bed().await;
    let v1 = bed.register("scaled", "nginx:1").await;
    bed.create("scaled", &v1).send().await.expect("created");
    bed.aas
        .register_scalable_target()
        .service_namespace(aas::types::ServiceNamespace::Ecs)
        .scalable_dimension(aas::types::ScalableDimension::EcsServiceDesiredCount)
        .resource_id("service/prod/scaled")
        .min_capacity(1)
        .max_capacity(3)
        .send()
        .await
        .expect("target");
    bed.aas
        .put_scaling_policy()
        .service_namespace(aas::types::ServiceNamespace::Ecs)
        .scalable_dimension(aas::types::ScalableDimension::EcsServiceDesiredCount)
        .resource_id("service/prod/scaled")
        .policy_name("cpu")
        .policy_type(aas::types::PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(
            aas::types::TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(70.0)
                .predefined_metric_specification(
                    aas::types::PredefinedMetricSpecification::builder()
                        .predefined_metric_type(
                            aas::types::MetricType::EcsServiceAverageCpuUtilization,
                        )
                        .build()
                        .expect("metric"),
                )
                .build()
                .expect("config"),
        )
        .send()
        .await
        .expect("policy");
    bed.ecs
        .delete_service()
        .cluster("prod")
        .service("scaled")
        .force(true)
        .send()
        .await
        .expect("deleted");
    let targets = bed
        .aas
        .describe_scalable_targets()
        .service_namespace(aas::types::ServiceNamespace::Ecs)
        .resource_ids("service/prod/scaled")
        .send()
        .await
        .expect("described");
    assert!(targets.scalable_targets().is_empty(), "{targets:?}");
    let policies = bed
        .aas
        .describe_scaling_policies()
        .service_namespace(aas::types::ServiceNamespace::Ecs)
        .resource_id("service/prod/scaled")
        .send()
        .await
        .expect("described");
    assert!(policies.scaling_policies().is_empty(), "{policies:?}");
}

/// Application Auto Scaling tags on scalable targets (moto 5.2.5 answers its tag calls with 500):
/// set at registration, changed with TagResource / UntagResource, gone with the target.
#[tokio::test]
async fn scalable_target_tags_are_kept_and_go_with_the_target() {
    let bed = bed().await;
    let v1 = bed.register("tagged", "nginx:1").await;
    bed.create("tagged", &v1).send().await.expect("created");
    let registered = bed
        .aas
        .register_scalable_target()
        .service_namespace(aas::types::ServiceNamespace::Ecs)
        .scalable_dimension(aas::types::ScalableDimension::EcsServiceDesiredCount)
        .resource_id("service/prod/tagged")
        .min_capacity(1)
        .max_capacity(3)
        .tags("owner", "uid-1")
        .send()
        .await
        .expect("target");
    let arn = registered.scalable_target_arn().expect("arn").to_owned();
    let tags = |bed_aas: aas::Client, arn: String| async move {
        bed_aas
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map(|o| o.tags().cloned().unwrap_or_default())
    };
    assert_eq!(
        tags(bed.aas.clone(), arn.clone()).await.expect("tags"),
        [("owner".to_owned(), "uid-1".to_owned())].into()
    );
    bed.aas
        .tag_resource()
        .resource_arn(&arn)
        .tags("team", "web")
        .send()
        .await
        .expect("tagged");
    bed.aas
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("owner")
        .send()
        .await
        .expect("untagged");
    assert_eq!(
        tags(bed.aas.clone(), arn.clone()).await.expect("tags"),
        [("team".to_owned(), "web".to_owned())].into()
    );
    bed.ecs
        .delete_service()
        .cluster("prod")
        .service("tagged")
        .force(true)
        .send()
        .await
        .expect("deleted");
    let gone = tags(bed.aas.clone(), arn)
        .await
        .expect_err("the target went with the service");
    assert_eq!(
        err_code(&gone.into_service_error()).0,
        "ResourceNotFoundException"
    );
}

/// DescribeScalableTargets pages as AWS documents (at most 50 per page, tokens that move on);
/// moto 5.2.5 repeats its second page forever from the third on.
#[tokio::test]
async fn scalable_targets_page_as_aws_documents() {
    let bed = bed().await;
    for i in 0..120 {
        bed.aas
            .register_scalable_target()
            .service_namespace(aas::types::ServiceNamespace::Dynamodb)
            .scalable_dimension(aas::types::ScalableDimension::DynamoDbTableReadCapacityUnits)
            .resource_id(format!("table/t{i:03}"))
            .min_capacity(1)
            .max_capacity(3)
            .send()
            .await
            .expect("target");
    }
    let mut pages = 0;
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = bed
            .aas
            .describe_scalable_targets()
            .service_namespace(aas::types::ServiceNamespace::Dynamodb)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("page");
        pages += 1;
        assert!(
            page.scalable_targets().len() <= 50,
            "the default page is 50"
        );
        ids.extend(
            page.scalable_targets()
                .iter()
                .map(|t| t.resource_id().to_owned()),
        );
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
        assert!(pages < 10, "paging never ends");
    }
    assert_eq!(pages, 3);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 120, "every target once");
    let too_many = bed
        .aas
        .describe_scalable_targets()
        .service_namespace(aas::types::ServiceNamespace::Dynamodb)
        .max_results(51)
        .send()
        .await
        .expect_err("MaxResults above 50");
    assert_eq!(
        err_code(&too_many.into_service_error()).0,
        "ValidationException"
    );
}

#[tokio::test]
async fn knobs_over_http_and_the_model_state() {
    let bed = bed().await;
    let client = ecs_testbed::http::client();
    let url = format!("{}/_proxy/ecs", bed.proxy.url());
    let (status, body) = ecs_testbed::http::send(
        &client,
        "PUT",
        &url,
        &[],
        json!({"rolloutSeconds": 5}).to_string().into(),
    )
    .await
    .expect("put");
    assert_eq!(status, 200);
    let knobs: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        knobs,
        json!({"rolloutSeconds": 5.0, "drainSeconds": 1.0,
               "imageOutcomes": [{"image": "*:broken*", "outcome": "pullFailure"}],
               "unlistedSeconds": 0.0, "taskSeconds": 1.0, "runSeconds": 2.0,
               "stoppedRetentionSeconds": 3600.0, "providerSeconds": 1.0,
               "steadyStateSeconds": 0.0, "hookAnswers": [],
               "requireContainerInstances": false, "minuteSeconds": 0.0})
    );
    let (status, _) = ecs_testbed::http::send(
        &client,
        "PUT",
        &url,
        &[],
        json!({"rolloutSecond": 5}).to_string().into(),
    )
    .await
    .expect("put");
    assert_eq!(status, 400, "unknown knobs are refused");
    let v1 = bed.register("seen", "nginx:1").await;
    bed.create("seen", &v1).send().await.expect("created");
    let (status, body) = ecs_testbed::http::send(&client, "GET", &url, &[], bytes::Bytes::new())
        .await
        .expect("get");
    assert_eq!(status, 200);
    let state: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(state["knobs"]["rolloutSeconds"], 5.0);
    assert_eq!(
        state["accounts"][&bed.account]["services"][0]["serviceName"],
        "seen"
    );
}

#[tokio::test]
async fn passthrough_is_moto_as_it_is() {
    let bed = bed_with(true).await;
    let v1 = bed.register("moto", "nginx:1").await;
    bed.create("moto", &v1).send().await.expect("created");
    // moto: a second create of the name with other parameters succeeds.
    bed.create("moto", &v1)
        .desired_count(7)
        .send()
        .await
        .expect("moto accepts it");
}

/// EXTERNAL services: created without a task definition or launch type (with one, refused), run
/// task sets (STABILIZING, then STEADY_STATE with their computed count running), no ECS
/// deployments; UpdateService changes only what the reference allows for them.
#[tokio::test]
async fn external_services_run_task_sets_and_no_deployments() {
    use ecs::types::{DeploymentController, DeploymentControllerType, Scale, ScaleUnit};
    let bed = bed().await;
    let td = bed.register("ext", "nginx:1").await;
    let external = || {
        DeploymentController::builder()
            .r#type(DeploymentControllerType::External)
            .build()
            .expect("controller")
    };
    let refused = bed
        .create("ext", &td)
        .deployment_controller(external())
        .send()
        .await
        .expect_err("a task definition on an EXTERNAL service");
    let (code, message) = err_code(refused.as_service_error().expect("service error"));
    assert_eq!(code, "InvalidParameterException");
    assert!(
        message.starts_with("TaskDefinition must be blank"),
        "{message}"
    );
    let created = bed
        .ecs
        .create_service()
        .cluster("prod")
        .service_name("ext")
        .desired_count(4)
        .deployment_controller(external())
        .send()
        .await
        .expect("created without a task definition");
    let service = created.service().expect("service");
    assert!(service.deployments().is_empty());
    assert_eq!(service.task_definition(), None);
    let set = bed
        .ecs
        .create_task_set()
        .cluster("prod")
        .service("ext")
        .task_definition(&td)
        .external_id("blue")
        .scale(
            Scale::builder()
                .value(50.0)
                .unit(ScaleUnit::Percent)
                .build(),
        )
        .send()
        .await
        .expect("task set")
        .task_set()
        .cloned()
        .expect("task set");
    assert_eq!(set.computed_desired_count(), 2);
    bed.ecs
        .update_service_primary_task_set()
        .cluster("prod")
        .service("ext")
        .primary_task_set(set.task_set_arn().expect("arn"))
        .send()
        .await
        .expect("primary");
    let steady = bed
        .wait("ext", "a steady task set", |s| {
            s.task_sets().first().and_then(|t| t.stability_status())
                == Some(&ecs::types::StabilityStatus::SteadyState)
        })
        .await;
    let listed = &steady.task_sets()[0];
    assert_eq!(listed.status(), Some("PRIMARY"));
    assert_eq!(listed.running_count(), 2);
    assert_eq!(steady.running_count(), 2);
    let refused = bed
        .ecs
        .update_service()
        .cluster("prod")
        .service("ext")
        .task_definition(&td)
        .send()
        .await
        .expect_err("no task definition through UpdateService");
    assert_eq!(
        err_code(refused.as_service_error().expect("service error")).0,
        "InvalidParameterException"
    );
    bed.ecs
        .update_service()
        .cluster("prod")
        .service("ext")
        .desired_count(6)
        .send()
        .await
        .expect("the desired count may change");
    // Only EXTERNAL services take task sets.
    bed.create("rolling", &td).send().await.expect("created");
    let refused = bed
        .ecs
        .create_task_set()
        .cluster("prod")
        .service("rolling")
        .task_definition(&td)
        .send()
        .await
        .expect_err("not EXTERNAL");
    assert_eq!(
        err_code(refused.as_service_error().expect("service error")).0,
        "InvalidParameterException"
    );
}

/// The `unlistedSeconds` knob: a service CreateService answered for is MISSING in
/// DescribeServices for that long (eventual consistency), then listed.
#[tokio::test]
async fn a_new_service_can_stay_unlisted_for_a_while() {
    let bed = bed().await;
    bed.proxy
        .model()
        .expect("model")
        .set_knobs(ecs_testbed::aws::ecs_model::KnobsPatch {
            unlisted_seconds: Some(1.0),
            ..Default::default()
        });
    let td = bed.register("late", "nginx:1").await;
    bed.create("late", &td).send().await.expect("created");
    let answer = bed
        .ecs
        .describe_services()
        .cluster("prod")
        .services("late")
        .send()
        .await
        .expect("described");
    assert!(answer.services().is_empty());
    assert_eq!(answer.failures()[0].reason(), Some("MISSING"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let listed = bed
            .ecs
            .describe_services()
            .cluster("prod")
            .services("late")
            .send()
            .await
            .expect("described");
        if !listed.services().is_empty() {
            assert!(listed.failures().is_empty());
            break;
        }
        assert!(Instant::now() < deadline, "never listed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A service's members must fit its task definition, on CreateService and UpdateService:
/// networkConfiguration "is required for task definitions that use the awsvpc network mode [...]
/// and it isn't supported for other network modes", and FARGATE needs a task definition
/// validated for it. The texts are ECS's answers as users report them.
#[tokio::test]
async fn services_must_fit_their_task_definitions() {
    use ecs::types::{AwsVpcConfiguration, Compatibility, NetworkConfiguration, NetworkMode};
    let bed = bed().await;
    let bridge = bed.register("bridged", "nginx:1").await;
    let awsvpc = bed
        .ecs
        .register_task_definition()
        .family("vpc")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ecs::types::ContainerDefinition::builder()
                .name("app")
                .image("nginx:1")
                .build(),
        )
        .send()
        .await
        .expect("registered")
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("arn")
        .to_owned();
    let network = || {
        NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder()
                    .subnets("subnet-1")
                    .build()
                    .expect("vpc"),
            )
            .build()
    };
    let refused = |e: ecs::error::SdkError<ecs::operation::create_service::CreateServiceError>| {
        err_code(&e.into_service_error())
    };
    let no_network = bed
        .create("a", &awsvpc)
        .launch_type(LaunchType::Fargate)
        .send()
        .await
        .expect_err("awsvpc without a network");
    assert_eq!(
        refused(no_network),
        (
            "InvalidParameterException".into(),
            "Network Configuration must be provided when networkMode 'awsvpc' is specified.".into()
        )
    );
    let stray_network = bed
        .create("b", &bridge)
        .network_configuration(network())
        .send()
        .await
        .expect_err("a network on a bridge task definition");
    assert_eq!(
        refused(stray_network).1,
        "Network Configuration is not valid for the given networkMode of this task definition."
    );
    let not_fargate = bed
        .ecs
        .create_service()
        .cluster("prod")
        .service_name("c")
        .task_definition(&bridge)
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .send()
        .await
        .expect_err("an EC2-only task definition on Fargate");
    assert_eq!(
        refused(not_fargate).1,
        "Task definition does not support launch_type FARGATE."
    );
    // UpdateService: an awsvpc task definition for a service without a network is refused; the
    // same service on Fargate with a network is fine.
    bed.create("d", &bridge)
        .send()
        .await
        .expect("bridge service");
    let switched = bed
        .ecs
        .update_service()
        .cluster("prod")
        .service("d")
        .task_definition(&awsvpc)
        .send()
        .await
        .expect_err("awsvpc without a network");
    assert_eq!(
        err_code(&switched.into_service_error()).1,
        "Network Configuration must be provided when networkMode 'awsvpc' is specified."
    );
    bed.create("e", &awsvpc)
        .launch_type(LaunchType::Fargate)
        .network_configuration(network())
        .send()
        .await
        .expect("fits");
}

/// DescribeServices takes at most 10 names ("You may specify up to 10 services to describe in a
/// single operation"); ListServices' maxResults "can be between 1 and 100", and outside that is
/// an error, not clamped.
#[tokio::test]
async fn describe_and_list_limits_are_refused_not_clamped() {
    let bed = bed().await;
    let eleven: Vec<String> = (0..11).map(|i| format!("svc-{i}")).collect();
    let refused = bed
        .ecs
        .describe_services()
        .cluster("prod")
        .set_services(Some(eleven))
        .send()
        .await
        .expect_err("eleven names");
    assert_eq!(
        err_code(&refused.into_service_error()),
        (
            "InvalidParameterException".into(),
            "service names can have at most 10 items".into()
        )
    );
    for max in [0, 101] {
        let refused = bed
            .ecs
            .list_services()
            .cluster("prod")
            .max_results(max)
            .send()
            .await
            .expect_err("maxResults out of range");
        assert_eq!(
            err_code(&refused.into_service_error()).0,
            "InvalidParameterException"
        );
    }
    bed.ecs
        .list_services()
        .cluster("prod")
        .max_results(100)
        .send()
        .await
        .expect("100 is fine");
}

#[tokio::test]
async fn list_services_filters_by_launch_type_and_scheduling_strategy() {
    let bed = bed().await;
    let v1 = bed.register("web", "nginx:1").await;
    bed.create("web", &v1).send().await.expect("replica");
    bed.ecs
        .create_service()
        .cluster("prod")
        .service_name("agent")
        .task_definition(&v1)
        .launch_type(LaunchType::Ec2)
        .scheduling_strategy(ecs::types::SchedulingStrategy::Daemon)
        .send()
        .await
        .expect("daemon");
    let listed = |launch_type: Option<LaunchType>,
                  strategy: Option<ecs::types::SchedulingStrategy>| {
        let request = bed
            .ecs
            .list_services()
            .cluster("prod")
            .set_launch_type(launch_type)
            .set_scheduling_strategy(strategy);
        async move {
            let mut names: Vec<String> = request
                .send()
                .await
                .expect("listed")
                .service_arns()
                .iter()
                .filter_map(|arn| arn.rsplit('/').next().map(str::to_owned))
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(listed(None, None).await, ["agent", "web"]);
    assert_eq!(listed(Some(LaunchType::Ec2), None).await, ["agent", "web"]);
    assert!(listed(Some(LaunchType::Fargate), None).await.is_empty());
    assert_eq!(
        listed(None, Some(ecs::types::SchedulingStrategy::Daemon)).await,
        ["agent"]
    );
    assert_eq!(
        listed(None, Some(ecs::types::SchedulingStrategy::Replica)).await,
        ["web"]
    );
}

/// A rollout with every task running is not over until ECS calls the service steady: the
/// deployment stays IN_PROGRESS with the desired count running for `steadyStateSeconds`.
#[tokio::test]
async fn a_rollout_with_everything_running_can_still_be_in_progress() {
    let bed = bed().await;
    bed.proxy
        .model()
        .expect("model")
        .set_knobs(ecs_testbed::aws::ecs_model::KnobsPatch {
            steady_state_seconds: Some(1.5),
            ..Default::default()
        });
    let td = bed.register("steady", "nginx:1").await;
    bed.create("steady", &td).send().await.expect("created");
    let running = bed
        .wait("steady", "all running", |s| {
            s.deployments()[0].running_count() == 2
        })
        .await;
    assert_eq!(
        running.deployments()[0].rollout_state(),
        Some(&ecs::types::DeploymentRolloutState::InProgress),
        "running is not COMPLETED"
    );
    bed.wait("steady", "completed", completed).await;
}

/// With 100 / 100 percent a rolling deployment has no room: no new task may start (maximum) and
/// no old one stop (minimum), so it stays IN_PROGRESS with nothing new running until the
/// percentages change.
#[tokio::test]
async fn a_rollout_without_room_stalls_until_the_percentages_change() {
    let bed = bed().await;
    let v1 = bed.register("tight", "nginx:1").await;
    bed.create("tight", &v1)
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .maximum_percent(100)
                .minimum_healthy_percent(100)
                .build(),
        )
        .send()
        .await
        .expect("created");
    bed.wait("tight", "completed", completed).await;
    let v2 = bed.register("tight", "nginx:2").await;
    bed.ecs
        .update_service()
        .cluster("prod")
        .service("tight")
        .task_definition(&v2)
        .send()
        .await
        .expect("updated");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stalled = bed.describe("tight").await;
    assert_eq!(rollout(&stalled)[0].2, "IN_PROGRESS", "{stalled:?}");
    assert_eq!(stalled.deployments()[0].running_count(), 0);
    assert_eq!(
        stalled.deployments()[1].running_count(),
        2,
        "the old tasks keep running"
    );
    bed.ecs
        .update_service()
        .cluster("prod")
        .service("tight")
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .maximum_percent(200)
                .minimum_healthy_percent(100)
                .build(),
        )
        .send()
        .await
        .expect("room made");
    let done = bed.wait("tight", "completed", completed).await;
    assert!(done.task_definition().is_some_and(|t| t == v2));
}

/// UpdateService stores what it is sent as CreateService does, defaults filled in: a strategy
/// item without base and weight reads back with 0 and 0, a VPC configuration without
/// assignPublicIp with DISABLED, a deployment configuration with only percentages with the
/// breaker, strategy, bake time and alarms a new service reports.
#[tokio::test]
async fn update_service_normalises_what_it_stores() {
    let bed = bed().await;
    let td = bed.register("norm", "nginx:1").await;
    bed.create("norm", &td).send().await.expect("created");
    bed.ecs
        .update_service()
        .cluster("prod")
        .service("norm")
        .capacity_provider_strategy(
            CapacityProviderStrategyItem::builder()
                .capacity_provider("FARGATE_SPOT")
                .build()
                .expect("item"),
        )
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .maximum_percent(150)
                .minimum_healthy_percent(50)
                .build(),
        )
        .force_new_deployment(true)
        .send()
        .await
        .expect_err("an EC2-only task definition on FARGATE_SPOT");
    let fargate = bed.register_fargate("norm-f", "nginx:1", None).await;
    bed.ecs
        .update_service()
        .cluster("prod")
        .service("norm")
        .task_definition(&fargate)
        .network_configuration(
            ecs::types::NetworkConfiguration::builder()
                .awsvpc_configuration(
                    ecs::types::AwsVpcConfiguration::builder()
                        .subnets("subnet-12345678")
                        .build()
                        .expect("vpc"),
                )
                .build(),
        )
        .capacity_provider_strategy(
            CapacityProviderStrategyItem::builder()
                .capacity_provider("FARGATE_SPOT")
                .build()
                .expect("item"),
        )
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .maximum_percent(150)
                .minimum_healthy_percent(50)
                .build(),
        )
        .force_new_deployment(true)
        .send()
        .await
        .expect("updated");
    let service = bed.describe("norm").await;
    let item = &service.capacity_provider_strategy()[0];
    assert_eq!((item.base(), item.weight()), (0, 0));
    assert_eq!(
        service
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration())
            .and_then(|v| v.assign_public_ip()),
        Some(&ecs::types::AssignPublicIp::Disabled)
    );
    let config = service.deployment_configuration().expect("configuration");
    assert_eq!(
        (config.maximum_percent(), config.minimum_healthy_percent()),
        (Some(150), Some(50))
    );
    assert_eq!(
        config
            .deployment_circuit_breaker()
            .map(|b| (b.enable(), b.rollback())),
        Some((false, false))
    );
    assert_eq!(
        config.strategy(),
        Some(&ecs::types::DeploymentStrategy::Rolling)
    );
    assert_eq!(config.bake_time_in_minutes(), Some(0));
}
