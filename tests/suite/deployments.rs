//! Deployment control end to end (real kube-apiserver, the operator's controllers, the AWS proxy
//! with its ECS model): a BLUE_GREEN service behind an ALB target group pauses at a PAUSE hook,
//! shows what to run, continues when annotated with its deployment's id (a stale id does
//! nothing), rolls back when annotated so, stalls naming a failing Lambda hook, and shows
//! LINEAR and CANARY deployments' traffic steps. A pre-deploy task runs (once, across a restart) before
//! UpdateService rolls out a new revision, and a failed one keeps the rollout from being sent.

use crate::common;

use common::stack::{Bed, condition, ec2};
use ecs_operator::api::EcsService;
use ecs_testbed::aws::ecs_model::{HookAnswer, ImageOutcome, KnobsPatch, TaskOutcome};
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

const TG_BLUE: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/1";
const TG_GREEN: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/2";

/// A service behind an ALB target group, deploying with `deployment`.
fn behind_alb(task_definition: &str, deployment: Value) -> Value {
    ec2(json!({
        "taskDefinition": task_definition,
        "desiredCount": 1,
        "deploymentConfiguration": deployment,
        "loadBalancers": [{
            "targetGroupArn": TG_BLUE,
            "containerName": "app",
            "containerPort": 80,
            "advancedConfiguration": {
                "alternateTargetGroupArn": TG_GREEN,
                "productionListenerRule": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/3",
                "testListenerRule": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/4",
                "roleArn": "arn:aws:iam::123456789012:role/ecs-elb"
            }
        }]
    }))
}

async fn annotate(bed: &Bed, name: &str, key: &str, value: &str) {
    bed.services()
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {key: value}}})),
        )
        .await
        .expect("annotate");
}

async fn set_task_definition(bed: &Bed, name: &str, task_definition: &str) {
    bed.services()
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"taskDefinition": task_definition}})),
        )
        .await
        .expect("patch");
}

/// The deployment id in status once the service waits for approval of a deployment other than
/// `not`.
async fn paused(bed: &Bed, name: &str, not: Option<&str>) -> (String, EcsService) {
    let object = bed
        .wait_for(name, "AwaitingApproval", |o| {
            condition(o, "Reconciling").1 == "AwaitingApproval"
                && o.status
                    .as_ref()
                    .and_then(|s| s.deployment.as_ref())
                    .is_some_and(|d| Some(d.id.as_str()) != not)
        })
        .await;
    let id = object
        .status
        .as_ref()
        .and_then(|s| s.deployment.as_ref())
        .map(|d| d.id.clone())
        .expect("deployment id");
    (id, object)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_blue_green_deployment_continues_on_its_annotation_and_rolls_back_on_request() {
    let bed = Bed::start().await;
    bed.register("bg", "nginx:1").await;
    bed.register("bg", "nginx:2").await;
    bed.create_service(
        "web",
        behind_alb(
            "bg:1",
            json!({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0,
                   "lifecycleHooks": [{"targetType": "PAUSE",
                                       "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}]}),
        ),
    )
    .await;
    // The first deployment pauses: Progressing (not Stalled), with the command to continue.
    let (first, object) = paused(&bed, "web", None).await;
    // Created with the traffic-shifting members as sent.
    let created = bed.requests("CreateService");
    assert_eq!(
        created[0]["loadBalancers"][0]["advancedConfiguration"]["alternateTargetGroupArn"],
        TG_GREEN
    );
    let (_, _, message) = condition(&object, "Reconciling");
    let shown = object.status.as_ref().and_then(|s| s.deployment.clone());
    let shown = shown.expect("deployment");
    let pause = shown
        .hooks
        .iter()
        .find(|h| h.status == "AWAITING_ACTION")
        .map(|h| h.id.clone())
        .expect("a paused hook");
    assert!(
        message.contains(&format!(
            "kubectl annotate ecsservice web -n {} ecs.operator.dev/continue-deployment={first}/{pause} --overwrite",
            bed.ns()
        )),
        "{message}"
    );
    assert_eq!(condition(&object, "Stalled").0, "False");
    assert_eq!(
        shown.lifecycle_stage.as_deref(),
        Some("POST_TEST_TRAFFIC_SHIFT")
    );
    bed.wait_event("web", |(_, reason, _)| reason == "AwaitingApproval")
        .await;

    // Annotated with its id (the whole deployment approved, as Git would hold it): one
    // ContinueServiceDeployment, then the deployment completes.
    // Its first attempt fails (500): sent again, and once accepted, never again.
    bed.refuse_once(
        "ecs:ContinueServiceDeployment",
        500,
        "ServerException",
        "try again",
    );
    annotate(&bed, "web", "ecs.operator.dev/continue-deployment", &first).await;
    bed.wait_ready("web").await;
    let continued = bed.requests("ContinueServiceDeployment");
    assert_eq!(
        continued.len(),
        2,
        "refused once, then accepted: {continued:?}"
    );
    for call in &continued {
        assert!(
            call["serviceDeploymentArn"]
                .as_str()
                .is_some_and(|a| a.ends_with(&first))
        );
        assert_eq!(call["action"], "CONTINUE");
        assert_eq!(call["hookId"], continued[0]["hookId"]);
    }
    bed.wait_event("web", |(_, reason, _)| reason == "DeploymentContinued")
        .await;

    // The next deployment pauses too; the annotation still names the first: nothing continues it.
    set_task_definition(&bed, "web", "bg:2").await;
    let (second, _) = paused(&bed, "web", Some(&first)).await;
    assert_ne!(first, second);
    assert_eq!(
        bed.requests("ContinueServiceDeployment").len(),
        2,
        "a stale continue annotation approved the next deployment"
    );

    // Rolled back on request: StopServiceDeployment (ROLLBACK) once, then Stalled RolledBack,
    // and the old revision runs again.
    bed.refuse_once(
        "ecs:StopServiceDeployment",
        500,
        "ServerException",
        "try again",
    );
    annotate(&bed, "web", "ecs.operator.dev/rollback-deployment", &second).await;
    let stalled = bed
        .wait_for("web", "Stalled after the rollback", |o| {
            condition(o, "Stalled").0 == "True"
        })
        .await;
    let stops = bed.requests("StopServiceDeployment");
    assert_eq!(stops.len(), 2, "refused once, then accepted: {stops:?}");
    assert!(stops.iter().all(|s| s["stopType"] == "ROLLBACK"));
    let (_, reason, message) = condition(&stalled, "Stalled");
    assert_eq!(reason, "RolledBack", "{message}");
    let service = bed.describe("prod", "web").await;
    assert!(
        service
            .task_definition()
            .is_some_and(|td| td.ends_with("bg:1")),
        "{service:?}"
    );
    bed.wait_event("web", |(_, reason, _)| {
        reason == "DeploymentRollbackRequested"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_lambda_hook_stalls_naming_the_hook_and_traffic_steps_show_in_status() {
    let bed = Bed::start().await;
    let model = bed.proxy.model().expect("model");
    bed.register("hk", "nginx:1").await;
    bed.register("hk", "nginx:2").await;
    let hook = "arn:aws:lambda:us-east-1:123456789012:function:smoke-test";
    bed.create_service(
        "checked",
        behind_alb(
            "hk:1",
            json!({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0,
                   "lifecycleHooks": [{"targetType": "AWS_LAMBDA", "hookTargetArn": hook,
                                       "roleArn": "arn:aws:iam::123456789012:role/hooks",
                                       "lifecycleStages": ["POST_SCALE_UP"],
                                       "hookDetails": {"suite": "smoke"}}]}),
        ),
    )
    .await;
    bed.wait_ready("checked").await;
    assert_eq!(
        bed.requests("CreateService")[0]["deploymentConfiguration"]["lifecycleHooks"][0]["hookDetails"],
        json!({"suite": "smoke"})
    );
    model.set_knobs(KnobsPatch {
        hook_answers: Some(vec![HookAnswer {
            hook: "*smoke-test".into(),
            answer: "FAILED".into(),
        }]),
        ..Default::default()
    });
    set_task_definition(&bed, "checked", "hk:2").await;
    let stalled = bed
        .wait_for("checked", "Stalled HookFailed", |o| {
            condition(o, "Stalled").1 == "HookFailed"
        })
        .await;
    let (_, _, message) = condition(&stalled, "Stalled");
    assert!(
        message.contains("lifecycle hook smoke-test") && message.contains("POST_SCALE_UP"),
        "{message}"
    );
    assert_eq!(condition(&stalled, "Ready").0, "False");

    // LINEAR: each production traffic step is seen (a minute lasts 3 s here).
    model.set_knobs(KnobsPatch {
        hook_answers: Some(Vec::new()),
        minute_seconds: Some(3.0),
        ..Default::default()
    });
    bed.create_service(
        "stepped",
        behind_alb(
            "hk:1",
            json!({"strategy": "LINEAR",
                   "linearConfiguration": {"stepPercent": 50.0, "stepBakeTimeInMinutes": 1}}),
        ),
    )
    .await;
    bed.wait_for("stepped", "half the production traffic shifted", |o| {
        o.status
            .as_ref()
            .and_then(|s| s.deployment.as_ref())
            .is_some_and(|d| {
                d.lifecycle_stage.as_deref() == Some("PRODUCTION_TRAFFIC_SHIFT")
                    && d.production_traffic_percent == Some(50.0)
            })
            && condition(o, "Reconciling").1 == "Deploying"
    })
    .await;
    bed.wait_ready("stepped").await;
    bed.wait_event("stepped", |(_, reason, message)| {
        reason == "DeploymentStage" && message.contains("50% of production traffic")
    })
    .await;

    // CANARY: the canary's share is seen before the rest shifts.
    bed.create_service(
        "canaried",
        behind_alb(
            "hk:1",
            json!({"strategy": "CANARY",
                   "canaryConfiguration": {"canaryPercent": 20.0, "canaryBakeTimeInMinutes": 1}}),
        ),
    )
    .await;
    bed.wait_for(
        "canaried",
        "the canary's share of production traffic",
        |o| {
            o.status
                .as_ref()
                .and_then(|s| s.deployment.as_ref())
                .is_some_and(|d| d.production_traffic_percent == Some(20.0))
        },
    )
    .await;
    bed.wait_ready("canaried").await;
}

/// A Fargate service (RunTask on EC2 needs container instances, which the model's clusters lack).
fn fargate(extra: Value) -> Value {
    let mut spec = json!({"cluster": "prod", "launchType": "FARGATE", "desiredCount": 1,
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-12345"]}}});
    if let (Some(spec), Value::Object(extra)) = (spec.as_object_mut(), extra) {
        spec.extend(extra);
    }
    spec
}

/// UpdateService requests that roll out `task_definition` (its family:revision suffix).
fn rollouts_of(bed: &Bed, task_definition: &str) -> usize {
    bed.requests("UpdateService")
        .iter()
        .filter(|r| {
            r["taskDefinition"]
                .as_str()
                .is_some_and(|td| td.ends_with(task_definition))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pre_deploy_task_runs_once_before_the_rollout_even_across_a_restart() {
    let mut bed = Bed::start().await;
    let model = bed.proxy.model().expect("model");
    // The migration runs for 4 s, long enough to restart the operator while it runs.
    model.set_knobs(KnobsPatch {
        run_seconds: Some(4.0),
        ..Default::default()
    });
    bed.register_fargate("app", "nginx:1").await;
    bed.register_fargate("app", "nginx:2").await;
    bed.register_fargate("migrate", "migrate:1").await;
    bed.create_service(
        "shop",
        fargate(json!({"taskDefinition": "app:1",
                   "preDeploy": {"taskDefinition": "migrate:1",
                                 "overrides": {"containerOverrides": [
                                     {"name": "app", "command": ["./migrate", "up"]}]}}})),
    )
    .await;
    // The creation runs it first (a fresh database needs its schema too).
    bed.wait_ready("shop").await;
    let order = |bed: &Bed| -> Vec<String> {
        bed.proxy
            .requests()
            .into_iter()
            .filter(|r| {
                matches!(
                    r.operation.as_str(),
                    "RunTask" | "CreateService" | "UpdateService"
                )
            })
            .map(|r| r.operation)
            .collect()
    };
    assert_eq!(order(&bed), ["RunTask", "CreateService"]);

    set_task_definition(&bed, "shop", "app:2").await;
    let waiting = bed
        .wait_for("shop", "waiting for the pre-deploy task", |o| {
            condition(o, "Reconciling").1 == "PreDeploying"
                && o.status
                    .as_ref()
                    .is_some_and(|s| s.pre_deploy_task.is_some())
        })
        .await;
    let run = waiting
        .status
        .as_ref()
        .and_then(|s| s.pre_deploy_task.clone())
        .expect("run name");
    // The run is an EcsTask the service owns.
    let tasks: kube::Api<ecs_operator::api::EcsTask> =
        kube::Api::namespaced(bed.client.clone(), bed.ns());
    let task = tasks.get(&run).await.expect("the pre-deploy EcsTask");
    let owner = task.metadata.owner_references.clone().unwrap_or_default();
    assert_eq!(
        (owner[0].kind.as_str(), owner[0].name.as_str()),
        ("EcsService", "shop")
    );
    assert_eq!(
        task.spec.task_definition.as_deref(),
        Some("migrate:1"),
        "{:?}",
        task.spec
    );

    // Restart the operator while the migration runs: RunTask is not sent again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while bed.requests("RunTask").len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no RunTask");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        rollouts_of(&bed, "app:2"),
        0,
        "rolled out before the migration"
    );
    bed.stop_controllers().await;
    bed.start_controllers().await;

    let ready = bed
        .wait_for("shop", "Ready on app:2", |o| {
            condition(o, "Ready").0 == "True"
                && o.status.as_ref().and_then(|s| s.task_definition.as_deref()) == Some("app:2")
        })
        .await;
    // One run per revision, each before its rollout, none again after the restart.
    assert_eq!(
        order(&bed),
        ["RunTask", "CreateService", "RunTask", "UpdateService"]
    );
    assert_eq!(rollouts_of(&bed, "app:2"), 1);
    assert_eq!(
        ready.status.and_then(|s| s.pre_deploy_task).as_deref(),
        Some(run.as_str())
    );
    bed.wait_event("shop", |(_, reason, _)| reason == "PreDeployStarted")
        .await;
    bed.stop_controllers().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_pre_deploy_task_keeps_the_rollout_from_being_sent() {
    let bed = Bed::start().await;
    bed.proxy.model().expect("model").set_knobs(KnobsPatch {
        image_outcomes: Some(vec![ImageOutcome {
            image: "*:exit3".into(),
            outcome: TaskOutcome::Exit(3),
        }]),
        ..Default::default()
    });
    bed.register_fargate("app", "nginx:1").await;
    bed.register_fargate("app", "nginx:2").await;
    bed.register_fargate("migrate", "migrate:ok").await;
    bed.register_fargate("migrate", "migrate:exit3").await;
    bed.create_service(
        "blocked",
        fargate(json!({"taskDefinition": "app:1",
                   "preDeploy": {"taskDefinition": "migrate:1"}})),
    )
    .await;
    bed.wait_ready("blocked").await;
    // The next rollout comes with a migration that fails.
    bed.services()
        .patch(
            "blocked",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"taskDefinition": "app:2",
                                          "preDeploy": {"taskDefinition": "migrate:2"}}})),
        )
        .await
        .expect("patch");
    let stalled = bed
        .wait_for("blocked", "Stalled PreDeployFailed", |o| {
            condition(o, "Stalled").1 == "PreDeployFailed"
        })
        .await;
    let (_, _, message) = condition(&stalled, "Stalled");
    assert!(
        message.contains("exit code 3") && message.contains("app:2"),
        "{message}"
    );
    assert_eq!(rollouts_of(&bed, "app:2"), 0, "the rollout was sent");
    assert_eq!(bed.requests("RunTask").len(), 2);
    let service = bed.describe("prod", "blocked").await;
    assert!(
        service
            .task_definition()
            .is_some_and(|td| td.ends_with("app:1")),
        "{service:?}"
    );
    bed.wait_event("blocked", |(kind, reason, _)| {
        kind == "Warning" && reason == "PreDeployFailed"
    })
    .await;
}
