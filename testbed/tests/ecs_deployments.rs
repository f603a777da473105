//! The service deployment API in the ECS model over real HTTP with the AWS SDK:
//! DescribeServiceDeployments (revisions, circuit breaker, rollback, the 20-ARN limit, MISSING)
//! and StopServiceDeployment (a rollback asked for by hand; nothing to stop once finished).

use aws_sdk_ecs as ecs;
use ecs::types::{
    DeploymentConfiguration, ServiceDeploymentStatus as Status, StopServiceDeploymentStopType,
};

mod model_bed;

use model_bed::*;

impl Bed {
    fn set_rollout_seconds(&self, seconds: f64) {
        self.proxy
            .model()
            .expect("model")
            .set_knobs(ecs_testbed::aws::ecs_model::KnobsPatch {
                rollout_seconds: Some(seconds),
                ..Default::default()
            });
    }

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

#[tokio::test]
async fn describe_service_deployments_reports_revisions_and_the_breaker() {
    let bed = bed().await;
    let v1 = bed.register("shop", "nginx:1").await;
    bed.create("shop", &v1)
        .deployment_configuration(circuit_breaker(true))
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
    // Long enough to stop it while it runs.
    bed.set_rollout_seconds(5.0);
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

    bed.set_rollout_seconds(0.5);
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
    bed.set_rollout_seconds(5.0);
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
    bed.set_rollout_seconds(0.5);
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

fn hook(
    stage: ecs::types::DeploymentLifecycleHookStage,
    target: Option<&str>,
) -> ecs::types::DeploymentLifecycleHook {
    let builder = ecs::types::DeploymentLifecycleHook::builder()
        .role_arn("arn:aws:iam::123456789012:role/ecsHooks")
        .lifecycle_stages(stage);
    match target {
        Some(arn) => builder.hook_target_arn(arn),
        None => builder.target_type(ecs::types::DeploymentLifecycleHookTargetType::Pause),
    }
    .build()
}

fn blue_green(hooks: Vec<ecs::types::DeploymentLifecycleHook>) -> DeploymentConfiguration {
    DeploymentConfiguration::builder()
        .strategy(ecs::types::DeploymentStrategy::BlueGreen)
        .bake_time_in_minutes(0)
        // Rolling percentages do not hold a blue/green deployment back.
        .maximum_percent(100)
        .minimum_healthy_percent(100)
        .set_lifecycle_hooks(Some(hooks))
        .build()
}

#[tokio::test]
async fn a_blue_green_deployment_waits_at_a_pause_hook_until_continued() {
    use ecs::types::DeploymentLifecycleHookStage as Stage;
    let bed = bed().await;
    let v1 = bed.register("bg", "nginx:1").await;
    bed.create("bg", &v1)
        .deployment_configuration(blue_green(vec![hook(Stage::PostScaleUp, None)]))
        .send()
        .await
        .expect("created");
    let arn = bed.current("bg").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let paused =
        loop {
            let deployment = bed.service_deployment(&arn).await;
            if deployment.lifecycle_hook_details().iter().any(|h| {
                h.status() == Some(&ecs::types::DeploymentLifecycleHookStatus::AwaitingAction)
            }) {
                break deployment;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never paused: {deployment:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
    assert_eq!(
        paused.lifecycle_stage(),
        Some(&ecs::types::ServiceDeploymentLifecycleStage::PostScaleUp)
    );
    // Twice the rollout time later it still waits.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let still = bed.service_deployment(&arn).await;
    assert_eq!(still.status(), Some(&Status::InProgress));
    assert_eq!(
        still.lifecycle_stage(),
        Some(&ecs::types::ServiceDeploymentLifecycleStage::PostScaleUp)
    );
    let wrong = bed
        .ecs
        .continue_service_deployment()
        .service_deployment_arn(&arn)
        .hook_id("not-a-hook")
        .send()
        .await
        .expect_err("no such hook");
    assert_eq!(err_code(&wrong).0, "InvalidParameterException");
    let hook_id = still.lifecycle_hook_details()[0]
        .hook_id()
        .expect("hook id")
        .to_owned();
    bed.ecs
        .continue_service_deployment()
        .service_deployment_arn(&arn)
        .hook_id(&hook_id)
        .send()
        .await
        .expect("continued");
    bed.wait("bg", "completed", completed).await;
    let done = bed.service_deployment(&arn).await;
    assert_eq!(done.status(), Some(&Status::Successful));
    assert_eq!(
        done.lifecycle_hook_details()[0].status(),
        Some(&ecs::types::DeploymentLifecycleHookStatus::Succeeded)
    );
    let again = bed
        .ecs
        .continue_service_deployment()
        .service_deployment_arn(&arn)
        .hook_id(&hook_id)
        .send()
        .await
        .expect_err("over");
    assert_eq!(err_code(&again).0, "InvalidParameterException");
}

#[tokio::test]
async fn a_failed_lambda_hook_rolls_back_and_bad_hooks_are_refused() {
    use ecs::types::DeploymentLifecycleHookStage as Stage;
    let bed = bed().await;
    bed.proxy
        .model()
        .expect("model")
        .set_knobs(ecs_testbed::aws::ecs_model::KnobsPatch {
            hook_answers: Some(vec![ecs_testbed::aws::ecs_model::HookAnswer {
                hook: "*:function:veto".into(),
                answer: "FAILED".into(),
            }]),
            ..Default::default()
        });
    let ok = "arn:aws:lambda:us-east-1:123456789012:function:ok";
    let veto = "arn:aws:lambda:us-east-1:123456789012:function:veto";
    let v1 = bed.register("gate", "nginx:1").await;
    bed.create("gate", &v1)
        .deployment_configuration(blue_green(vec![hook(
            Stage::PostTestTrafficShift,
            Some(ok),
        )]))
        .send()
        .await
        .expect("created");
    bed.wait("gate", "completed", completed).await;
    let v2 = bed.register("gate", "nginx:2").await;
    bed.ecs
        .update_service()
        .cluster("prod")
        .service("gate")
        .task_definition(&v2)
        .deployment_configuration(blue_green(vec![hook(
            Stage::PostTestTrafficShift,
            Some(veto),
        )]))
        .send()
        .await
        .expect("updated");
    let arn = bed.current("gate").await;
    bed.wait("gate", "back on v1", |s| {
        completed(s) && s.task_definition() == Some(v1.as_str())
    })
    .await;
    let rolled_back = bed.service_deployment(&arn).await;
    assert_eq!(rolled_back.status(), Some(&Status::RollbackSuccessful));
    assert!(
        rolled_back
            .lifecycle_hook_details()
            .iter()
            .any(|h| h.status() == Some(&ecs::types::DeploymentLifecycleHookStatus::Failed))
    );

    for (hooks, what) in [
        (
            vec![hook(Stage::TestTrafficShift, None)],
            "PAUSE at a traffic shift",
        ),
        (
            vec![hook(Stage::ProductionTrafficShift, None)],
            "PAUSE at a traffic shift",
        ),
        (
            vec![
                ecs::types::DeploymentLifecycleHook::builder()
                    .lifecycle_stages(Stage::PostScaleUp)
                    .build(),
            ],
            "a Lambda hook without its function",
        ),
    ] {
        let refused = bed
            .create("refused", &v1)
            .deployment_configuration(blue_green(hooks))
            .send()
            .await
            .expect_err(what);
        assert_eq!(err_code(&refused).0, "InvalidParameterException", "{what}");
    }
}

/// The new revision's requested (test, production) traffic weights, and the source revisions'.
fn weights(deployment: &ecs::types::ServiceDeployment) -> ((f64, f64), Vec<(f64, f64)>) {
    let of = |r: &ecs::types::ServiceRevisionSummary| {
        (
            r.requested_test_traffic_weight().unwrap_or(-1.0),
            r.requested_production_traffic_weight().unwrap_or(-1.0),
        )
    };
    (
        deployment
            .target_service_revision()
            .map_or((-1.0, -1.0), of),
        deployment
            .source_service_revisions()
            .iter()
            .map(of)
            .collect(),
    )
}

/// A lifecycle stage with the target revision's (test, production) weights and the sources'.
type TrafficPoint = (String, (f64, f64), Vec<(f64, f64)>);

/// Polls service deployment `arn` until it is no longer IN_PROGRESS, and returns each distinct
/// (stage, target weights, source weights) it went through, in order.
async fn traffic_timeline(bed: &Bed, arn: &str) -> Vec<TrafficPoint> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut seen: Vec<TrafficPoint> = Vec::new();
    loop {
        let deployment = bed.service_deployment(arn).await;
        let stage = deployment
            .lifecycle_stage()
            .map_or("-".to_owned(), |s| s.as_str().to_owned());
        let (target, sources) = weights(&deployment);
        let point = (stage, target, sources);
        if seen.last() != Some(&point) {
            seen.push(point);
        }
        if deployment.status() != Some(&Status::InProgress) {
            return seen;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never finished: {seen:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    }
}

#[tokio::test]
async fn canary_and_linear_deployments_shift_traffic_in_steps_and_wait_their_bake_times() {
    use ecs::types::{CanaryConfiguration, DeploymentStrategy, LinearConfiguration};
    let bed = bed().await;
    // Nine stages of 0.1 s; a minute of bake time lasts 0.25 s.
    bed.proxy
        .model()
        .expect("model")
        .set_knobs(ecs_testbed::aws::ecs_model::KnobsPatch {
            rollout_seconds: Some(0.9),
            minute_seconds: Some(0.25),
            ..Default::default()
        });
    let canary = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::Canary)
        .bake_time_in_minutes(8)
        .canary_configuration(
            CanaryConfiguration::builder()
                .canary_percent(20.0)
                .canary_bake_time_in_minutes(8)
                .build(),
        )
        .build();
    let v1 = bed.register("can", "nginx:1").await;
    bed.create("can", &v1)
        .deployment_configuration(canary.clone())
        .send()
        .await
        .expect("created");
    bed.wait("can", "completed", completed).await;
    let v2 = bed.register("can", "nginx:2").await;
    let updated = std::time::Instant::now();
    bed.ecs
        .update_service()
        .cluster("prod")
        .service("can")
        .task_definition(&v2)
        .send()
        .await
        .expect("updated");
    let arn = bed.current("can").await;
    let timeline = traffic_timeline(&bed, &arn).await;
    // The stages (0.9 s), the canary bake and the bake time (8 minutes each, 4 s) take 4.9 s
    // at least; without either bake it would be 2.9 s.
    assert!(
        updated.elapsed() >= std::time::Duration::from_millis(4_800),
        "{:?}: {timeline:?}",
        updated.elapsed()
    );
    let at = |stage: &str| {
        timeline
            .iter()
            .filter(|(s, _, _)| s == stage)
            .map(|(_, target, sources)| (*target, sources.clone()))
            .collect::<Vec<_>>()
    };
    assert!(
        at("PRE_SCALE_UP")
            .iter()
            .all(|(target, sources)| *target == (0.0, 0.0) && sources == &[(100.0, 100.0)]),
        "{timeline:?}"
    );
    assert!(
        at("POST_TEST_TRAFFIC_SHIFT")
            .iter()
            .all(|(target, _)| *target == (100.0, 0.0)),
        "test traffic first: {timeline:?}"
    );
    assert!(
        at("PRODUCTION_TRAFFIC_SHIFT").contains(&((100.0, 20.0), vec![(0.0, 80.0)])),
        "the canary step, waited on: {timeline:?}"
    );
    assert!(
        at("BAKE_TIME")
            .iter()
            .all(|(target, _)| *target == (100.0, 100.0))
            && !at("BAKE_TIME").is_empty(),
        "{timeline:?}"
    );
    let done = bed.service_deployment(&arn).await;
    assert_eq!(done.status(), Some(&Status::Successful));
    assert_eq!(weights(&done).0, (100.0, 100.0));

    // LINEAR: 30 % a step, two minutes between steps, a hook at each step.
    let check = "arn:aws:lambda:us-east-1:123456789012:function:check-step";
    let linear = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::Linear)
        .bake_time_in_minutes(0)
        .lifecycle_hooks(hook(
            ecs::types::DeploymentLifecycleHookStage::ProductionTrafficShift,
            Some(check),
        ))
        .linear_configuration(
            LinearConfiguration::builder()
                .step_percent(30.0)
                .step_bake_time_in_minutes(2)
                .build(),
        )
        .build();
    let v3 = bed.register("can", "nginx:3").await;
    bed.ecs
        .update_service()
        .cluster("prod")
        .service("can")
        .task_definition(&v3)
        .deployment_configuration(linear)
        .send()
        .await
        .expect("updated");
    let arn = bed.current("can").await;
    let mut production: Vec<f64> = traffic_timeline(&bed, &arn)
        .await
        .iter()
        .map(|(_, target, _)| target.1)
        .collect();
    production.dedup();
    assert_eq!(
        production,
        [0.0, 30.0, 60.0, 90.0, 100.0],
        "one step at a time"
    );
    // "Lambda functions or lifecycle hooks configured for PRODUCTION_TRAFFIC_SHIFT will be
    // invoked at every production traffic shift step."
    let done = bed.service_deployment(&arn).await;
    assert_eq!(done.status(), Some(&Status::Successful));
    let runs = done
        .lifecycle_hook_details()
        .iter()
        .filter(|h| h.target_arn() == Some(check))
        .count();
    assert_eq!(runs, 4, "{:?}", done.lifecycle_hook_details());
}

#[tokio::test]
async fn traffic_shifting_settings_outside_their_ranges_are_refused() {
    use ecs::types::{CanaryConfiguration, DeploymentStrategy, LinearConfiguration};
    let bed = bed().await;
    let v1 = bed.register("odd", "nginx:1").await;
    let linear = |percent: f64, minutes: i32| {
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::Linear)
            .bake_time_in_minutes(0)
            .linear_configuration(
                LinearConfiguration::builder()
                    .step_percent(percent)
                    .step_bake_time_in_minutes(minutes)
                    .build(),
            )
            .build()
    };
    let canary = |percent: f64, minutes: i32| {
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::Canary)
            .bake_time_in_minutes(0)
            .canary_configuration(
                CanaryConfiguration::builder()
                    .canary_percent(percent)
                    .canary_bake_time_in_minutes(minutes)
                    .build(),
            )
            .build()
    };
    let no_bake_time = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::BlueGreen)
        .build();
    for (config, what) in [
        (no_bake_time, "BLUE_GREEN without bakeTimeInMinutes"),
        (linear(2.9, 6), "a linear step under 3 %"),
        (linear(100.1, 6), "a linear step over 100 %"),
        (linear(12.25, 6), "a linear step not a multiple of 0.1"),
        (linear(10.0, 1441), "a linear step bake over a day"),
        (linear(10.0, -1), "a negative linear step bake"),
        (canary(0.0, 10), "a canary of 0 %"),
        (canary(100.5, 10), "a canary over 100 %"),
        (canary(5.05, 10), "a canary not a multiple of 0.1"),
        (canary(5.0, -1), "a negative canary bake"),
        (canary(5.0, 1441), "a canary bake over a day"),
    ] {
        let refused = bed
            .create("odd", &v1)
            .deployment_configuration(config)
            .send()
            .await
            .expect_err(what);
        assert_eq!(err_code(&refused).0, "InvalidParameterException", "{what}");
    }
    // Behind a target group, traffic shifting needs the alternate target group.
    let target_group = |alternate: Option<&str>| {
        let lb = ecs::types::LoadBalancer::builder()
            .target_group_arn(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/1",
            )
            .container_name("app")
            .container_port(80);
        match alternate {
            Some(arn) => lb
                .advanced_configuration(
                    ecs::types::AdvancedConfiguration::builder()
                        .alternate_target_group_arn(arn)
                        .production_listener_rule("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/w/1/2/3")
                        .role_arn("arn:aws:iam::123456789012:role/ecs-elb")
                        .build(),
                )
                .build(),
            None => lb.build(),
        }
    };
    let refused = bed
        .create("lb", &v1)
        .deployment_configuration(canary(5.0, 1))
        .load_balancers(target_group(None))
        .send()
        .await
        .expect_err("CANARY behind a target group without an alternate one");
    assert_eq!(err_code(&refused).0, "InvalidParameterException");
    bed.create("lb", &v1)
        .deployment_configuration(canary(5.0, 1))
        .load_balancers(target_group(Some(
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/2",
        )))
        .send()
        .await
        .expect("with its alternate target group");
    let described = bed
        .ecs
        .describe_services()
        .cluster("prod")
        .services("lb")
        .send()
        .await
        .expect("describe");
    assert_eq!(
        described.services()[0].load_balancers()[0]
            .advanced_configuration()
            .and_then(|a| a.alternate_target_group_arn()),
        Some("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/2")
    );
    for (i, config) in [linear(3.0, 0), linear(100.0, 1440), canary(0.1, 0)]
        .into_iter()
        .enumerate()
    {
        bed.create(&format!("edge{i}"), &v1)
            .deployment_configuration(config.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{config:?}: {e:?}"));
    }
    // UpdateService too: the defaults it fills in must not hide a bake time left out.
    let refused = bed
        .ecs
        .update_service()
        .cluster("prod")
        .service("edge0")
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .strategy(DeploymentStrategy::BlueGreen)
                .build(),
        )
        .send()
        .await
        .expect_err("BLUE_GREEN without bakeTimeInMinutes on update");
    assert_eq!(err_code(&refused).0, "InvalidParameterException");
}
