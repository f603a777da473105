use super::*;
use crate::api::service::EcsServiceStatus;
use crate::api::task::{EcsTaskSpec, EcsTaskStatus};
use crate::translate::service::UpdateServiceRequest;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

fn stalled(reason: &str, message: &str) -> Condition {
    Condition {
        type_: "Stalled".into(),
        status: "True".into(),
        reason: reason.into(),
        message: message.into(),
        observed_generation: None,
        last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    }
}

const TARGET: &str = "arn:aws:ecs:us-east-1:1:task-definition/web:2";

fn update_plan() -> Plan {
    Plan {
        step: Step::Update(UpdateServiceRequest {
            cluster: "prod".into(),
            service: "web".into(),
            task_definition: Some(TARGET.into()),
            ..Default::default()
        }),
        retag: None,
        record: None,
        health: Health::Progressing {
            reason: "Deploying",
            message: "started a deployment of web:2".into(),
        },
        notes: Vec::new(),
        status: EcsServiceStatus::default(),
        deployment_age: None,
    }
}

fn run() -> PreDeployRun {
    PreDeployRun {
        task: EcsTask::new("web-predeploy-abc", EcsTaskSpec::default()),
        target: TARGET.into(),
    }
}

fn ran(phase: Option<TaskPhase>, failure: Option<&str>) -> EcsTask {
    let mut task = run().task;
    task.status = Some(EcsTaskStatus {
        phase,
        ..Default::default()
    });
    if let (Some(message), Some(status)) = (failure, task.status.as_mut()) {
        status
            .reconcile
            .conditions
            .push(stalled("TaskFailed", message));
    }
    task
}

#[test]
fn the_update_waits_for_a_run_it_creates_once() {
    let mut plan = update_plan();
    let created = gate(&mut plan, Some(&run()), None, None, None);
    assert_eq!(
        created.and_then(|t| t.metadata.name).as_deref(),
        Some("web-predeploy-abc")
    );
    assert_eq!(plan.step, Step::Nothing);
    assert!(matches!(
        plan.health,
        Health::Progressing {
            reason: "PreDeploying",
            ..
        }
    ));
    // Running: still held, nothing created again.
    let mut plan = update_plan();
    assert_eq!(
        gate(
            &mut plan,
            Some(&run()),
            Some(&ran(Some(TaskPhase::Running), None)),
            None,
            None
        ),
        None
    );
    assert_eq!(plan.step, Step::Nothing);
    assert_eq!(
        plan.status.pre_deploy_task.as_deref(),
        Some("web-predeploy-abc")
    );
}

#[test]
fn a_succeeded_run_lets_the_update_go_and_a_failed_one_stalls_it() {
    let mut plan = update_plan();
    assert_eq!(
        gate(
            &mut plan,
            Some(&run()),
            Some(&ran(Some(TaskPhase::Succeeded), None)),
            None,
            None
        ),
        None
    );
    assert!(matches!(plan.step, Step::Update(_)));
    let mut plan = update_plan();
    let failed = ran(
        Some(TaskPhase::Failed),
        Some("task 1 stopped: EssentialContainerExited; container app exited 3"),
    );
    assert_eq!(
        gate(&mut plan, Some(&run()), Some(&failed), None, None),
        None
    );
    assert_eq!(plan.step, Step::Nothing);
    let Health::Stalled { reason, message } = &plan.health else {
        panic!("{:?}", plan.health)
    };
    assert_eq!(*reason, "PreDeployFailed");
    assert!(
        message.contains("exited 3") && message.contains("web:2"),
        "{message}"
    );
    assert_eq!(plan.notes.len(), 1);
    // Already Stalled for it: no second Event.
    let mut plan = update_plan();
    plan.status.pre_deploy_task = Some("web-predeploy-abc".into());
    plan.status
        .reconcile
        .conditions
        .push(stalled("PreDeployFailed", ""));
    gate(&mut plan, Some(&run()), Some(&failed), None, None);
    assert!(plan.notes.is_empty());
    // Stuck before it ran (RunTask refused): the rollout waits for a person too.
    let mut plan = update_plan();
    let refused = ran(
        Some(TaskPhase::Pending),
        Some(
            "ecs:RunTask failed: InvalidParameterException: No Container Instances were found in your cluster.",
        ),
    );
    gate(&mut plan, Some(&run()), Some(&refused), None, None);
    assert!(
        matches!(&plan.health, Health::Stalled { reason: "PreDeployFailed", message } if message.contains("No Container Instances")),
        "{:?}",
        plan.health
    );
}

#[test]
fn only_a_rollout_of_the_target_revision_is_gated() {
    // No preDeploy, or an update that sends no task definition: untouched.
    let mut plan = update_plan();
    assert_eq!(gate(&mut plan, None, None, None, None), None);
    assert!(matches!(plan.step, Step::Update(_)));
    let mut plan = update_plan();
    if let Step::Update(update) = &mut plan.step {
        update.task_definition = None;
        update.desired_count = Some(3);
    }
    assert_eq!(gate(&mut plan, Some(&run()), None, None, None), None);
    assert!(matches!(plan.step, Step::Update(_)));
    let mut plan = update_plan();
    plan.step = Step::Nothing;
    assert_eq!(gate(&mut plan, Some(&run()), None, None, None), None);
}

#[test]
fn the_rest_of_the_update_is_sent_while_the_rollout_waits_and_runs_never_overlap() {
    let mut plan = update_plan();
    if let Step::Update(update) = &mut plan.step {
        update.desired_count = Some(4);
        update.force_new_deployment = Some(true);
    }
    plan.record = Some(crate::controller::service::plan::Applied {
        desired_task_definition_arn: Some(TARGET.into()),
        force_token: Some("2".into()),
        settings: Default::default(),
        adopted_arn: None,
    });
    let created = gate(&mut plan, Some(&run()), None, None, Some("1"));
    assert!(created.is_some());
    let Step::Update(update) = &plan.step else {
        panic!("{:?}", plan.step)
    };
    assert_eq!(
        (
            update.desired_count,
            update.task_definition.as_deref(),
            update.force_new_deployment
        ),
        (Some(4), None, None)
    );
    let record = plan.record.clone().expect("record");
    assert_eq!(record.desired_task_definition_arn, None);
    assert_eq!(record.force_token.as_deref(), Some("1"));
    // Another run of the service still going: no second one starts.
    let mut plan = update_plan();
    assert_eq!(
        gate(
            &mut plan,
            Some(&run()),
            None,
            Some("web-predeploy-old"),
            None
        ),
        None
    );
    assert!(
        matches!(&plan.health, Health::Progressing { message, .. } if message.contains("web-predeploy-old")),
        "{:?}",
        plan.health
    );
    assert!(running(&ran(Some(TaskPhase::Running), None)));
    assert!(!running(&ran(Some(TaskPhase::Succeeded), None)));
    assert!(!running(&ran(Some(TaskPhase::Pending), Some("refused"))));
}

#[test]
fn a_create_waits_for_its_run_too() {
    let mut plan = update_plan();
    plan.step = Step::Create(crate::translate::service::CreateServiceRequest {
        service_name: "web".into(),
        cluster: "prod".into(),
        task_definition: Some(TARGET.into()),
        ..Default::default()
    });
    plan.record = Some(crate::controller::service::plan::Applied {
        desired_task_definition_arn: Some(TARGET.into()),
        force_token: None,
        settings: Default::default(),
        adopted_arn: None,
    });
    assert!(gate(&mut plan, Some(&run()), None, None, None).is_some());
    assert_eq!(plan.step, Step::Nothing);
    assert_eq!(plan.record, None);
    let mut plan2 = update_plan();
    plan2.step = Step::Create(crate::translate::service::CreateServiceRequest {
        task_definition: Some(TARGET.into()),
        ..Default::default()
    });
    gate(
        &mut plan2,
        Some(&run()),
        Some(&ran(Some(TaskPhase::Succeeded), None)),
        None,
        None,
    );
    assert!(matches!(plan2.step, Step::Create(_)));
}
