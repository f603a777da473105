//! The service pass as the pipeline runs it: what each write commits, and the deletion.

use super::*;
use crate::aws::types::ServiceStatus;
use crate::controller::pipeline::{Cleanup, Progress, Timing};
use crate::controller::service::writes::{
    Answer, CleanupObserved, Write, cleanup_plan, commit, pipeline_plan,
};

const TIMING: Timing = Timing {
    poll: Duration::from_secs(5),
    resync: Duration::from_secs(600),
};

fn cleanup(service: Option<ServiceObservation>, retain: bool) -> CleanupObserved {
    CleanupObserved {
        retain,
        cluster: "prod".into(),
        name: "web".into(),
        uid: "uid-1".into(),
        service,
    }
}

#[test]
fn an_update_records_its_markers_only_in_its_commit() {
    let d = desired(json!({"forceNewDeployment": "2"}));
    let service = settled_service(&d);
    let mut status = settled_status(&d, &service);
    status.applied_force_new_deployment = Some("1".into());
    let plan = pipeline_plan(&d, &observed(service), &status, TIMING);
    assert_eq!(
        plan.status.applied_force_new_deployment.as_deref(),
        Some("1")
    );
    let [Write::Update { .. }] = plan.steps.as_slice() else {
        panic!("{:?}", plan.steps)
    };
    assert!(matches!(
        plan.outcome,
        Ok(Progress::Progressing { ref reason, .. }) if reason == "Deploying"
    ));
    let mut committed = plan.status.clone();
    let mut notes = Vec::new();
    for write in plan.steps {
        commit(write, Answer::Done, &mut committed, &mut notes);
    }
    assert_eq!(committed.applied_force_new_deployment.as_deref(), Some("2"));
}

#[test]
fn an_adoption_is_recorded_with_its_retag_not_with_the_update_before_it() {
    let mut d = desired(json!({"desiredCount": 3}));
    d.adopt = crate::translate::tags::Adoption::Any;
    let mut foreign = settled_service(&desired(json!({})));
    foreign.tags = Vec::new();
    let p = pipeline_plan(&d, &observed(foreign), &EcsServiceStatus::default(), TIMING);
    let [
        Write::Update {
            record: Some(sent), ..
        },
        Write::Retag {
            record: Some(adoption),
            ..
        },
    ] = p.steps.as_slice()
    else {
        panic!("{:?}", p.steps)
    };
    assert_eq!(sent.adopted_arn, None);
    assert_eq!(adoption.adopted_arn.as_deref(), Some(ARN));
    // The update answered and the retag failed: what the update sent is recorded (not sent
    // again), but nothing says the service is ours (its owner tag does not), so the next pass
    // adopts again instead of disowning a service it half adopted.
    let mut after = p.status.clone();
    let mut notes = Vec::new();
    let mut steps = p.steps.into_iter();
    commit(
        steps.next().expect("update"),
        Answer::Done,
        &mut after,
        &mut notes,
    );
    assert_eq!(after.service_arn, None);
    assert!(!after.applied_settings.is_empty());
    assert!(notes.iter().all(|n| n.reason != "Adopted"), "{notes:?}");
    commit(
        steps.next().expect("retag"),
        Answer::Done,
        &mut after,
        &mut notes,
    );
    assert_eq!(after.service_arn.as_deref(), Some(ARN));
    assert!(notes.iter().any(|n| n.reason == "Adopted"));
}

#[test]
fn an_update_of_our_own_service_records_what_it_sent_even_beside_a_retag() {
    let d = desired(json!({"desiredCount": 3, "tags": [{"key": "team", "value": "b"}]}));
    let ours = settled_service(&desired(json!({})));
    let status = settled_status(&desired(json!({})), &ours);
    let p = pipeline_plan(&d, &observed(ours), &status, TIMING);
    let [
        Write::Update {
            record: Some(sent), ..
        },
        Write::Retag { record: None, .. },
    ] = p.steps.as_slice()
    else {
        panic!("{:?}", p.steps)
    };
    assert_eq!(sent.adopted_arn, None);
}

#[test]
fn a_namesake_at_our_recorded_arn_gets_no_deployment_control() {
    let mut d = desired(json!({"deploymentConfiguration":
        {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5}}));
    d.control.continue_id = Some("dep-7".into());
    let mut namesake = settled_service(&d);
    let status = settled_status(&d, &namesake);
    namesake.tags = tags::ownership("uid-2", "team", "again", None);
    let mut o = observed(namesake);
    o.service_deployment = Some(ServiceDeploymentObservation {
        arn: "arn:aws:ecs:us-east-1:1:service-deployment/prod/web/dep-7".into(),
        status: "IN_PROGRESS".into(),
        created_at: 1_000,
        lifecycle_stage: Some("POST_TEST_TRAFFIC_SHIFT".into()),
        hooks: vec![crate::aws::types::LifecycleHookObservation {
            id: "hook-1".into(),
            target_type: "PAUSE".into(),
            status: "AWAITING_ACTION".into(),
            ..Default::default()
        }],
        ..Default::default()
    });
    let p = pipeline_plan(&d, &o, &status, TIMING);
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    assert_eq!(p.status.deployment, status.deployment);
    assert!(
        matches!(&p.outcome, Ok(Progress::Stalled { reason, message, .. })
            if reason == "AlreadyExists" && message.contains("team/again")),
        "{:?}",
        p.outcome
    );
}

#[test]
fn deletion_retains_waits_leaves_others_alone_and_deletes_its_own() {
    let d = desired(json!({}));
    let ours = settled_service(&d);
    let status = settled_status(&d, &ours);
    // Retain: nothing deleted, the service is no longer followed.
    let p = cleanup_plan(&cleanup(None, true), &status, TIMING);
    assert!(matches!(p.steps.as_slice(), [Write::Unfollow { .. }]));
    assert_eq!(p.outcome.ok(), Some(Cleanup::Done));
    // Ours and ACTIVE: DeleteService, then wait for it to drain, keeping its ARN.
    let p = cleanup_plan(&cleanup(Some(ours.clone()), false), &status, TIMING);
    let [
        Write::Delete {
            recreate: false, ..
        },
    ] = p.steps.as_slice()
    else {
        panic!("{:?}", p.steps)
    };
    assert!(matches!(p.outcome, Ok(Cleanup::Waiting { .. })));
    let mut after = p.status.clone();
    for write in p.steps {
        commit(write, Answer::Done, &mut after, &mut Vec::new());
    }
    assert_eq!(
        after.service_arn.as_deref(),
        Some(ARN),
        "still known as ours"
    );
    // Draining: wait, no call.
    let mut draining = ours.clone();
    draining.status = ServiceStatus::Draining;
    let p = cleanup_plan(&cleanup(Some(draining), false), &status, TIMING);
    assert!(p.steps.is_empty());
    assert!(matches!(p.outcome, Ok(Cleanup::Waiting { .. })));
    // Someone else's: left alone, with a note.
    let mut foreign = ours.clone();
    foreign.tags = Vec::new();
    let p = cleanup_plan(
        &cleanup(Some(foreign), false),
        &EcsServiceStatus::default(),
        TIMING,
    );
    assert!(matches!(p.steps.as_slice(), [Write::Unfollow { .. }]));
    assert!(p.notes.iter().any(|n| n.reason == "NotOwned"));
    // Ours drained and another object created the same name (same ARN, its owner tag): left
    // alone, though our status still names that ARN.
    let mut namesake = ours.clone();
    namesake.tags = tags::ownership("uid-2", "team", "again", None);
    let p = cleanup_plan(&cleanup(Some(namesake), false), &status, TIMING);
    assert!(matches!(p.steps.as_slice(), [Write::Unfollow { .. }]));
    assert!(p.notes.iter().any(|n| n.reason == "NotOwned"));
    // Gone: done.
    let mut gone = ours;
    gone.status = ServiceStatus::Inactive;
    let p = cleanup_plan(&cleanup(Some(gone), false), &status, TIMING);
    assert_eq!(p.outcome.ok(), Some(Cleanup::Done));
}

#[test]
fn a_paused_blue_green_deployment_is_continued_once_when_the_annotation_names_it() {
    use crate::aws::types::LifecycleHookObservation;
    use crate::controller::service::deployment::Action;
    let mut d = desired(json!({"deploymentConfiguration":
        {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5}}));
    let service = settled_service(&d);
    let status = settled_status(&d, &service);
    let mut o = observed(service);
    o.service_deployment = Some(ServiceDeploymentObservation {
        arn: "arn:aws:ecs:us-east-1:1:service-deployment/prod/web/dep-7".into(),
        status: "IN_PROGRESS".into(),
        created_at: 1_000,
        lifecycle_stage: Some("POST_TEST_TRAFFIC_SHIFT".into()),
        hooks: vec![LifecycleHookObservation {
            id: "hook-1".into(),
            target_type: "PAUSE".into(),
            status: "AWAITING_ACTION".into(),
            ..Default::default()
        }],
        test_traffic_percent: Some(100.0),
        production_traffic_percent: Some(0.0),
        ..Default::default()
    });
    // Paused, nobody asked: Progressing with the command, no write, polled at the resync.
    let p = pipeline_plan(&d, &o, &status, TIMING);
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    let Ok(Progress::Progressing {
        reason,
        message,
        requeue,
    }) = &p.outcome
    else {
        panic!("{:?}", p.outcome)
    };
    assert_eq!(reason, "AwaitingApproval");
    assert!(
        message.contains("continue-deployment=dep-7/hook-1"),
        "{message}"
    );
    assert_eq!(*requeue, TIMING.resync);
    let shown = p.status.deployment.clone().expect("deployment in status");
    assert_eq!(
        (shown.id.as_str(), shown.lifecycle_stage.as_deref()),
        ("dep-7", Some("POST_TEST_TRAFFIC_SHIFT"))
    );
    assert!(p.notes.iter().any(|n| n.reason == "AwaitingApproval"));
    // An annotation naming an older deployment does nothing.
    d.control.continue_id = Some("dep-6".into());
    assert!(pipeline_plan(&d, &o, &status, TIMING).steps.is_empty());
    // Naming this one: one ContinueServiceDeployment, recorded only in its commit.
    d.control.continue_id = Some("dep-7".into());
    let p = pipeline_plan(&d, &o, &p.status, TIMING);
    let [Write::Deployment(Action::Continue { hook_id, .. })] = p.steps.as_slice() else {
        panic!("{:?}", p.steps)
    };
    assert_eq!(hook_id, "hook-1");
    assert!(p.status.deployment_actions.is_empty());
    // What the continue did is looked at soon, not at the resync of a paused deployment.
    assert!(matches!(
        &p.outcome,
        Ok(Progress::Progressing { requeue, .. }) if *requeue < TIMING.poll
    ));
    let mut committed = p.status.clone();
    let mut notes = Vec::new();
    for write in p.steps {
        commit(write, Answer::Done, &mut committed, &mut notes);
    }
    assert_eq!(committed.deployment_actions, ["continue:hook-1"]);
    assert!(notes.iter().any(|n| n.reason == "DeploymentContinued"));
    // The next pass, ECS still reporting the hook waiting (a stale read): not sent again.
    assert!(pipeline_plan(&d, &o, &committed, TIMING).steps.is_empty());
}

#[test]
fn a_deployment_view_replaces_a_rollback_stall_only_when_it_says_more() {
    use crate::aws::types::LifecycleHookObservation;
    let blue_green = json!({"deploymentConfiguration":
        {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0}});
    let old = desired(blue_green.clone());
    let service = settled_service(&old);
    let mut status = settled_status(&old, &service);
    status.desired_task_definition_arn = Some(TD2.into());
    let new = desired_for(&spec(blue_green), TD2);
    let stalled_reason =
        |observed: &Observed| match pipeline_plan(&new, observed, &status, TIMING).outcome {
            Ok(Progress::Stalled { reason, .. }) => reason,
            other => panic!("{other:?}"),
        };
    // Rolled back by ECS (a circuit breaker, an alarm): the plan's RolledBack says it best.
    let mut rolled_back = ServiceDeploymentObservation {
        arn: "arn:aws:ecs:us-east-1:1:service-deployment/prod/web/dep-2".into(),
        status: "ROLLBACK_SUCCESSFUL".into(),
        created_at: 1_000,
        ..Default::default()
    };
    let mut o = observed(service);
    o.service_deployment = Some(rolled_back.clone());
    assert_eq!(stalled_reason(&o), "RolledBack");
    // Rolled back because a hook failed: the hook is named.
    rolled_back.hooks = vec![LifecycleHookObservation {
        id: "h-1".into(),
        target_type: "AWS_LAMBDA".into(),
        target_arn: Some("arn:aws:lambda:us-east-1:1:function:smoke".into()),
        status: "FAILED".into(),
        expires_at: None,
    }];
    o.service_deployment = Some(rolled_back);
    assert_eq!(stalled_reason(&o), "HookFailed");
}
