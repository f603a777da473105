//! The service deployment API in the ECS model over real HTTP with the AWS SDK:
//! DescribeServiceDeployments (revisions, circuit breaker, rollback, the 20-ARN limit, MISSING)
//! and StopServiceDeployment (a rollback asked for by hand; nothing to stop once finished).

use aws_sdk_ecs as ecs;
use ecs::types::{
    DeploymentCircuitBreaker, DeploymentConfiguration, ServiceDeploymentStatus as Status,
    StopServiceDeploymentStopType,
};

mod model_bed;

use model_bed::*;

impl Bed {
    async fn service_deployment(&self, arn: &str) -> ecs::types::ServiceDeployment {
        let answer = self
            .ecs
            .describe_service_deployments()
            .service_deployment_arns(arn)
            .send()
            .await
            .expect("described");
        answer
            .service_deployments()
            .first()
            .cloned()
            .unwrap_or_else(|| panic!("{arn}: {:?}", answer.failures()))
    }

    async fn current(&self, name: &str) -> String {
        self.describe(name)
            .await
            .current_service_deployment()
            .expect("current service deployment")
            .to_owned()
    }
}

fn completed(service: &ecs::types::Service) -> bool {
    service.deployments().len() == 1
        && service.deployments()[0].rollout_state()
            == Some(&ecs::types::DeploymentRolloutState::Completed)
}

#[tokio::test]
async fn describe_service_deployments_reports_revisions_and_the_breaker() {
    let bed = bed().await;
    let v1 = bed.register("shop", "nginx:1").await;
    bed.create("shop", &v1)
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .deployment_circuit_breaker(
                    DeploymentCircuitBreaker::builder()
                        .enable(true)
                        .rollback(true)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("created");
    bed.wait("shop", "completed", completed).await;
    let first = bed.current("shop").await;
    let done = bed.service_deployment(&first).await;
    assert_eq!(done.status(), Some(&Status::Successful));
    assert!(done.finished_at().is_some());
    assert_eq!(
        done.target_service_revision()
            .map(|r| r.running_task_count()),
        Some(2)
    );
    let v2 = bed.register("shop", "nginx:broken").await;
    bed.ecs
        .update_service()
        .cluster("prod")
        .service("shop")
        .task_definition(&v2)
        .send()
        .await
        .expect("updated");
    let second = bed.current("shop").await;
    assert_ne!(first, second);
    bed.wait("shop", "back on v1", |s| {
        completed(s) && s.task_definition() == Some(v1.as_str())
    })
    .await;
    let rolled_back = bed.service_deployment(&second).await;
    assert_eq!(rolled_back.status(), Some(&Status::RollbackSuccessful));
    let breaker = rolled_back.deployment_circuit_breaker().expect("breaker");
    assert_eq!(
        breaker.status(),
        Some(&ecs::types::ServiceDeploymentRollbackMonitorsStatus::Triggered)
    );
    assert_eq!(breaker.threshold(), 3);
    assert!(breaker.failure_count() >= 3, "{breaker:?}");
    let rollback = rolled_back.rollback().expect("rollback");
    assert_eq!(
        rollback.service_revision_arn(),
        done.target_service_revision().and_then(|r| r.arn()),
        "back to the first revision"
    );
    assert!(rolled_back.source_service_revisions().len() == 1);

    let mut too_many = bed.ecs.describe_service_deployments();
    for _ in 0..21 {
        too_many = too_many.service_deployment_arns(&first);
    }
    let refused = too_many.send().await.expect_err("21 ARNs");
    assert_eq!(err_code(&refused).0, "InvalidParameterException");
    let missing = bed
        .ecs
        .describe_service_deployments()
        .service_deployment_arns(format!("{first}0"))
        .send()
        .await
        .expect("described");
    assert_eq!(missing.failures()[0].reason(), Some("MISSING"));
}

#[tokio::test]
async fn stop_service_deployment_rolls_back_by_hand_and_refuses_a_finished_one() {
    let bed = bed().await;
    bed.proxy
        .model()
        .expect("model")
        .set_knobs(ecs_testbed::aws::ecs_model::KnobsPatch {
            // Long enough to stop it while it runs.
            rollout_seconds: Some(5.0),
            ..Default::default()
        });
    let v1 = bed.register("api", "nginx:1").await;
    bed.create("api", &v1).send().await.expect("created");
    let first = bed.current("api").await;
    let early = bed
        .ecs
        .stop_service_deployment()
        .service_deployment_arn(&first)
        .stop_type(StopServiceDeploymentStopType::Rollback)
        .send()
        .await;
    assert!(early.is_ok(), "{early:?}");
    assert_eq!(
        bed.service_deployment(&first).await.status(),
        Some(&Status::Stopped),
        "nothing completed before: nothing to roll back to"
    );

    bed.proxy
        .model()
        .expect("model")
        .set_knobs(ecs_testbed::aws::ecs_model::KnobsPatch {
            rollout_seconds: Some(0.5),
            ..Default::default()
        });
    bed.ecs
        .update_service()
        .cluster("prod")
        .service("api")
        .force_new_deployment(true)
        .send()
        .await
        .expect("redeployed");
    bed.wait("api", "completed", completed).await;
    let good = bed.current("api").await;
    bed.proxy
        .model()
        .expect("model")
        .set_knobs(ecs_testbed::aws::ecs_model::KnobsPatch {
            rollout_seconds: Some(5.0),
            ..Default::default()
        });
    let v2 = bed.register("api", "nginx:2").await;
    bed.ecs
        .update_service()
        .cluster("prod")
        .service("api")
        .task_definition(&v2)
        .send()
        .await
        .expect("updated");
    let second = bed.current("api").await;
    bed.ecs
        .stop_service_deployment()
        .service_deployment_arn(&second)
        .stop_type(StopServiceDeploymentStopType::Rollback)
        .send()
        .await
        .expect("stopped");
    let stopping = bed.service_deployment(&second).await;
    assert_eq!(stopping.status(), Some(&Status::RollbackInProgress));
    let service = bed.describe("api").await;
    assert_eq!(
        service.deployments()[0].task_definition(),
        Some(v1.as_str())
    );
    bed.proxy
        .model()
        .expect("model")
        .set_knobs(ecs_testbed::aws::ecs_model::KnobsPatch {
            rollout_seconds: Some(0.5),
            ..Default::default()
        });
    bed.wait("api", "back on v1", |s| {
        completed(s) && s.task_definition() == Some(v1.as_str())
    })
    .await;
    assert_eq!(
        bed.service_deployment(&second).await.status(),
        Some(&Status::RollbackSuccessful)
    );
    let finished = bed
        .ecs
        .stop_service_deployment()
        .service_deployment_arn(&good)
        .send()
        .await
        .expect_err("finished long ago");
    assert_eq!(err_code(&finished).0, "ConflictException");
    let unknown = bed
        .ecs
        .stop_service_deployment()
        .service_deployment_arn(format!("{good}0"))
        .send()
        .await
        .expect_err("unknown");
    assert_eq!(err_code(&unknown).0, "ServiceDeploymentNotFoundException");
}
