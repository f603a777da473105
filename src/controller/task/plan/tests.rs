use super::*;
use crate::aws::types::{ContainerObservation, RevisionStatus};

const TIMING: Timing = Timing {
    poll: Duration::from_secs(5),
    resync: Duration::from_secs(600),
};

fn desired() -> Desired {
    Desired {
        request: RunTaskRequest {
            cluster: "prod".into(),
            task_definition: "migrate".into(),
            started_by: Some("ecs-operator/uid-1".into()),
            client_token: Some("uid-1".into()),
            ..Default::default()
        },
        run_hash: "h1".into(),
        ttl: None,
        object: ("ns".into(), "migrate-1".into()),
    }
}

fn revision() -> TaskDefinitionRevision {
    TaskDefinitionRevision {
        arn: "arn:aws:ecs:us-east-1:1:task-definition/migrate:3".into(),
        family: "migrate".into(),
        revision: 3,
        status: RevisionStatus::Active,
        essential_containers: vec!["app".into()],
    }
}

fn now(at: &str) -> Option<Timestamp> {
    at.parse().ok()
}

fn task(
    id: &str,
    last: &str,
    stop: Option<&str>,
    exits: &[(&str, Option<i32>)],
) -> TaskObservation {
    TaskObservation {
        arn: format!("arn:aws:ecs:us-east-1:1:task/prod/{id}"),
        cluster_arn: "arn:aws:ecs:us-east-1:1:cluster/prod".into(),
        last_status: last.into(),
        desired_status: if last == "STOPPED" {
            "STOPPED"
        } else {
            "RUNNING"
        }
        .into(),
        stop_code: stop.map(str::to_owned),
        stopped_reason: stop.map(|_| "Essential container in task exited".to_owned()),
        stopped_at: (last == "STOPPED").then(|| "2026-12-05T01:00:00Z".to_owned()),
        containers: exits
            .iter()
            .map(|(name, code)| ContainerObservation {
                name: (*name).into(),
                last_status: last.into(),
                exit_code: *code,
                reason: None,
            })
            .collect(),
        ..Default::default()
    }
}

/// The status once the run is pinned (the first pass).
fn pinned() -> EcsTaskStatus {
    let p = plan(
        &desired(),
        &Observed {
            revision: Some(revision()),
            now: now("2026-12-05T00:59:00Z"),
            ..Default::default()
        },
        &EcsTaskStatus::default(),
        TIMING,
    );
    assert!(
        p.steps.is_empty(),
        "the first pass only pins: {:?}",
        p.steps
    );
    p.status
}

/// The status right after RunTask started `tasks`.
fn after_run(tasks: Vec<TaskObservation>) -> EcsTaskStatus {
    let p = plan(&desired(), &Observed::default(), &pinned(), TIMING);
    let mut status = p.status.clone();
    let step = p.steps.into_iter().next().expect("run");
    commit(
        step,
        Answer::Ran(RunTaskAnswer {
            tasks,
            failures: vec![],
        }),
        &mut status,
        &mut Vec::new(),
    );
    status
}

#[test]
fn the_run_is_pinned_first_then_runs_the_pinned_revision_with_the_uid_token() {
    let status = pinned();
    assert_eq!(
        status.task_definition_arn.as_deref(),
        Some(revision().arn.as_str())
    );
    assert_eq!(status.essential_containers, ["app"]);
    assert_eq!(status.start_time.as_deref(), Some("2026-12-05T00:59:00Z"));
    assert!(status.tasks.is_empty());
    // The next pass runs exactly the pinned revision, whatever the family's latest is now.
    let p = plan(&desired(), &Observed::default(), &status, TIMING);
    let [Step::Run { request }] = p.steps.as_slice() else {
        panic!("{:?}", p.steps)
    };
    assert_eq!(request.task_definition, revision().arn);
    assert_eq!(request.client_token.as_deref(), Some("uid-1"));
    // RunTask failed (5xx): nothing recorded, the same request goes again.
    let again = plan(&desired(), &Observed::default(), &p.status, TIMING);
    assert_eq!(again.steps, p.steps);
}

#[test]
fn tasks_found_by_started_by_are_the_run_and_nothing_runs_again() {
    let p = plan(
        &desired(),
        &Observed {
            tasks: vec![task("t1", "RUNNING", None, &[("app", None)])],
            revision: Some(revision()),
            now: now("2026-12-05T01:00:00Z"),
            ..Default::default()
        },
        &EcsTaskStatus::default(),
        TIMING,
    );
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    assert_eq!(p.status.tasks.len(), 1);
    assert_eq!(p.status.phase, Some(TaskPhase::Running));
    assert!(p.notes.iter().any(|n| n.reason == "TaskFound"));
}

#[test]
fn a_missing_task_definition_waits_and_runs_nothing() {
    let p = plan(
        &desired(),
        &Observed::default(),
        &EcsTaskStatus::default(),
        TIMING,
    );
    assert!(p.steps.is_empty());
    assert!(matches!(p.outcome, Err(ReconcileError::Waiting { .. })));
}

#[test]
fn essential_containers_exiting_zero_succeed_and_a_sidecar_killed_after_does_not_matter() {
    let status = after_run(vec![task("t1", "PENDING", None, &[])]);
    let p = plan(
        &desired(),
        &Observed {
            tasks: vec![task(
                "t1",
                "STOPPED",
                Some("EssentialContainerExited"),
                &[("app", Some(0)), ("log-router", Some(137))],
            )],
            now: now("2026-12-05T01:00:05Z"),
            ..Default::default()
        },
        &status,
        TIMING,
    );
    assert_eq!(p.status.phase, Some(TaskPhase::Succeeded));
    assert!(
        matches!(p.outcome, Ok(Progress::Ready { .. })),
        "{:?}",
        p.outcome
    );
    assert_eq!(
        p.status.completion_time.as_deref(),
        Some("2026-12-05T01:00:00Z")
    );
    assert!(p.notes.iter().any(|n| n.reason == "TaskSucceeded"));
}

#[test]
fn a_non_zero_exit_fails_with_the_stop_code_and_exit_code_in_the_message() {
    let status = after_run(vec![task("t1", "RUNNING", None, &[])]);
    let p = plan(
        &desired(),
        &Observed {
            tasks: vec![task(
                "t1",
                "STOPPED",
                Some("EssentialContainerExited"),
                &[("app", Some(3))],
            )],
            now: now("2026-12-05T01:00:05Z"),
            ..Default::default()
        },
        &status,
        TIMING,
    );
    assert_eq!(p.status.phase, Some(TaskPhase::Failed));
    match &p.outcome {
        Ok(Progress::Stalled {
            reason, message, ..
        }) => {
            assert_eq!(reason, "TaskFailed");
            assert!(
                message.contains("EssentialContainerExited") && message.contains("exit code 3"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    let warning = p
        .notes
        .iter()
        .find(|n| n.reason == "TaskFailed")
        .expect("event");
    assert!(warning.is_warning());
}

#[test]
fn a_task_that_failed_to_start_fails_the_run_with_its_reason() {
    let status = after_run(vec![task("t1", "PROVISIONING", None, &[])]);
    let mut pulled = task("t1", "STOPPED", Some("TaskFailedToStart"), &[("app", None)]);
    pulled.stopped_reason =
        Some("CannotPullContainerError: pull image manifest has been retried".into());
    pulled.containers[0].reason = Some("CannotPullContainerError: not found".into());
    let p = plan(
        &desired(),
        &Observed {
            tasks: vec![pulled],
            now: now("2026-12-05T01:00:05Z"),
            ..Default::default()
        },
        &status,
        TIMING,
    );
    assert_eq!(p.status.stop_code.as_deref(), Some("TaskFailedToStart"));
    let Ok(Progress::Stalled { message, .. }) = &p.outcome else {
        panic!("{:?}", p.outcome)
    };
    assert!(message.contains("CannotPullContainerError"), "{message}");
}

#[test]
fn run_task_failures_without_tasks_fail_the_run_and_are_not_retried() {
    let mut status = EcsTaskStatus::default();
    commit(
        Step::Run {
            request: Box::new(desired().request),
        },
        Answer::Ran(RunTaskAnswer {
            tasks: vec![],
            failures: vec!["RESOURCE:MEMORY".into()],
        }),
        &mut status,
        &mut Vec::new(),
    );
    let p = plan(&desired(), &Observed::default(), &status, TIMING);
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    assert_eq!(p.status.phase, Some(TaskPhase::Failed));
    let Ok(Progress::Stalled { message, .. }) = &p.outcome else {
        panic!("{:?}", p.outcome)
    };
    assert!(message.contains("RESOURCE:MEMORY"), "{message}");
}

#[test]
fn a_spec_change_after_the_run_is_reported_never_run() {
    let status = after_run(vec![task("t1", "RUNNING", None, &[])]);
    let mut changed = desired();
    changed.run_hash = "h2".into();
    let p = plan(
        &changed,
        &Observed {
            tasks: vec![task("t1", "RUNNING", None, &[])],
            now: now("2026-12-05T01:00:05Z"),
            ..Default::default()
        },
        &status,
        TIMING,
    );
    assert!(p.steps.is_empty());
    let Ok(Progress::Progressing { message, .. }) = &p.outcome else {
        panic!("{:?}", p.outcome)
    };
    assert!(message.contains("create a new EcsTask"), "{message}");
}

#[test]
fn the_ttl_counts_from_the_last_stop_and_then_deletes_the_object() {
    let mut with_ttl = desired();
    with_ttl.ttl = Some(Duration::from_secs(60));
    let status = after_run(vec![task("t1", "RUNNING", None, &[])]);
    let stopped = vec![task(
        "t1",
        "STOPPED",
        Some("EssentialContainerExited"),
        &[("app", Some(0))],
    )];
    let early = plan(
        &with_ttl,
        &Observed {
            tasks: stopped.clone(),
            now: now("2026-12-05T01:00:20Z"),
            ..Default::default()
        },
        &status,
        TIMING,
    );
    assert!(early.steps.is_empty());
    assert!(
        matches!(early.outcome, Ok(Progress::ReadyFor { requeue, .. }) if requeue == Duration::from_secs(40)),
        "{:?}",
        early.outcome
    );
    let late = plan(
        &with_ttl,
        &Observed {
            now: now("2026-12-05T01:01:00Z"),
            ..Default::default()
        },
        &early.status,
        TIMING,
    );
    assert_eq!(
        late.steps,
        [Step::Expire {
            namespace: "ns".into(),
            name: "migrate-1".into()
        }]
    );
}

#[test]
fn deletion_stops_running_tasks_unless_told_not_to() {
    let running = vec![
        task("t1", "RUNNING", None, &[]),
        task("t2", "STOPPED", Some("EssentialContainerExited"), &[]),
    ];
    let status = EcsTaskStatus::default();
    let p = cleanup_plan(true, Some("prod"), &running, &status);
    assert_eq!(p.steps.len(), 1);
    assert!(matches!(&p.steps[0], Step::Stop { task, .. } if task.ends_with("/t1")));
    assert!(
        cleanup_plan(false, Some("prod"), &running, &status)
            .steps
            .is_empty()
    );
    assert!(cleanup_plan(true, None, &running, &status).steps.is_empty());
}

#[test]
fn a_task_ecs_no_longer_reports_ends_the_run_as_unknown_not_running_forever() {
    let status = after_run(vec![task("t1", "RUNNING", None, &[])]);
    let p = plan(
        &desired(),
        &Observed {
            missing: vec!["arn:aws:ecs:us-east-1:1:task/prod/t1".into()],
            now: now("2026-12-05T03:00:00Z"),
            ..Default::default()
        },
        &status,
        TIMING,
    );
    assert_eq!(p.status.phase, Some(TaskPhase::Failed));
    let Ok(Progress::Stalled { message, .. }) = &p.outcome else {
        panic!("{:?}", p.outcome)
    };
    assert!(message.contains("no longer reports"), "{message}");
}

#[test]
fn a_task_not_reported_right_after_the_run_is_waited_for_not_ended() {
    let status = after_run(vec![task("t1", "PROVISIONING", None, &[])]);
    let p = plan(
        &desired(),
        &Observed {
            missing: vec!["arn:aws:ecs:us-east-1:1:task/prod/t1".into()],
            now: now("2026-12-05T00:59:30Z"),
            ..Default::default()
        },
        &status,
        TIMING,
    );
    assert_eq!(p.status.phase, Some(TaskPhase::Pending));
    assert!(matches!(p.outcome, Ok(Progress::Progressing { .. })));
}

#[test]
fn fewer_tasks_found_than_asked_for_repeats_the_pinned_run_for_the_whole_set() {
    let mut two = desired();
    two.request.count = Some(2);
    let status = pinned();
    let p = plan(
        &two,
        &Observed {
            tasks: vec![task("t1", "RUNNING", None, &[])],
            now: now("2026-12-05T01:00:00Z"),
            ..Default::default()
        },
        &status,
        TIMING,
    );
    assert!(
        matches!(p.steps.as_slice(), [Step::Run { .. }]),
        "{:?}",
        p.steps
    );
}
