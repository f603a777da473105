//! What a DescribeServices answer says, in the status and as health: the rollout's progress and
//! deadline, the figures recorded in status, the ECS service events to publish, and whether a
//! service is settled enough to be read from the read-ahead cache. Pure.

use super::plan::{Desired, Health, Note, Observed, short};
use crate::api::service::{
    DeploymentControllerType, DeploymentStrategy, EcsServiceStatus, TaskSetStatus,
};
use crate::api::task::TaskStatus;
use crate::aws::types::{
    DeploymentStatus, RolloutState, ServiceDeploymentStatus, ServiceObservation, TaskObservation,
};
use crate::controller::stopped_tasks::{ending, task_status, unexpected};

/// The health of a service whose primary deployment runs the desired task definition.
/// The rollout's health from the service as observed.
pub(super) fn rollout(
    desired: &Desired,
    observed: &Observed,
    service: &ServiceObservation,
) -> Health {
    let external = service
        .settings
        .deployment_controller
        .as_ref()
        .is_some_and(|c| c.r#type == DeploymentControllerType::External);
    if external {
        return task_set_health(service);
    }
    let primary = service
        .deployments
        .iter()
        .find(|d| d.status == DeploymentStatus::Primary)
        .or(service.deployments.first());
    let td = short(primary.map_or(service.task_definition.as_str(), |d| {
        d.task_definition.as_str()
    }));
    let progress = format!(
        "{td}: {} of {} tasks running, {} pending",
        service.running_count, service.desired_count, service.pending_count
    );
    let breaker = service
        .settings
        .deployment_configuration
        .as_ref()
        .and_then(|c| c.deployment_circuit_breaker.as_ref())
        .is_some_and(|b| b.enable);
    match primary.and_then(|d| d.rollout_state.as_ref()) {
        Some(RolloutState::Failed) => {
            return Health::Stalled {
                reason: "RolloutFailed",
                message: format!(
                    "{progress}; {}",
                    primary
                        .and_then(|d| d.rollout_state_reason.clone())
                        .unwrap_or_default()
                ),
            };
        }
        Some(RolloutState::InProgress) => {
            let started = primary.and_then(|d| d.created_at).unwrap_or(observed.now);
            let deadline = i64::try_from(desired.progress_deadline.as_secs()).unwrap_or(i64::MAX);
            if !breaker && observed.now.saturating_sub(started) > deadline {
                return Health::Stalled {
                    reason: "ProgressDeadlineExceeded",
                    message: format!(
                        "{progress}; the rollout has not completed within {deadline} seconds (spec.progressDeadlineSeconds) and no deployment circuit breaker decides; check the service events"
                    ),
                };
            }
            return Health::Progressing {
                reason: "RollingOut",
                message: progress,
            };
        }
        _ => {}
    }
    if service.deployments.len() > 1 {
        return Health::Progressing {
            reason: "RollingOut",
            message: format!(
                "{progress}; {} older deployment(s) still running",
                service.deployments.len() - 1
            ),
        };
    }
    if service.running_count != service.desired_count {
        return Health::Progressing {
            reason: "Scaling",
            message: progress,
        };
    }
    let strategy = service
        .settings
        .deployment_configuration
        .as_ref()
        .and_then(|c| c.strategy)
        .unwrap_or(DeploymentStrategy::Rolling);
    if strategy != DeploymentStrategy::Rolling && !observed.lifecycle_done {
        match &observed.service_deployment {
            Some(d) if d.status == ServiceDeploymentStatus::Successful => {}
            Some(d) if d.status.is_rollback() || d.status == ServiceDeploymentStatus::Stopped => {
                return Health::Stalled {
                    reason: "RolloutFailed",
                    message: format!(
                        "{progress}; the {} deployment ended {}: {}",
                        strategy,
                        d.status,
                        d.status_reason.clone().unwrap_or_default()
                    ),
                };
            }
            other => {
                return Health::Progressing {
                    reason: "Baking",
                    message: format!(
                        "{progress}; the {strategy} deployment is {}",
                        other.as_ref().map_or("starting", |d| d.status.as_str())
                    ),
                };
            }
        }
    }
    Health::Ready(format!("{progress}; rollout complete"))
}

/// Records the figures ECS reports.
pub(super) fn record_observation(status: &mut EcsServiceStatus, service: &ServiceObservation) {
    let primary = service
        .deployments
        .iter()
        .find(|d| d.status == DeploymentStatus::Primary)
        .or(service.deployments.first());
    status.service_arn = Some(service.arn.clone());
    status.cluster_arn = Some(service.cluster_arn.clone());
    let td = primary.map_or(service.task_definition.clone(), |d| {
        d.task_definition.clone()
    });
    // An EXTERNAL service has none of its own.
    status.task_definition = (!td.is_empty()).then(|| short(&td));
    status.task_definition_arn = (!td.is_empty()).then_some(td);
    status.desired_count = Some(service.desired_count);
    status.running_count = Some(service.running_count);
    status.pending_count = Some(service.pending_count);
    status.primary_deployment_id = primary.map(|d| d.id.clone());
    status.rollout_state = primary.and_then(|d| d.rollout_state.as_ref().map(|r| r.to_string()));
    status.rollout_state_reason = primary.and_then(|d| d.rollout_state_reason.clone());
    status.task_sets = service
        .task_sets
        .iter()
        .map(|t| TaskSetStatus {
            id: t.id.clone(),
            status: t.status.clone(),
            task_definition: (!t.task_definition.is_empty()).then(|| short(&t.task_definition)),
            external_id: t.external_id.clone(),
            computed_desired_count: t.computed_desired_count,
            running_count: t.running_count,
            pending_count: t.pending_count,
            stability_status: t.stability_status.clone(),
        })
        .collect();
}

/// An EXTERNAL service's health: its deployer drives the task sets; the service is Ready when
/// every task set is in steady state (or there is none yet), Progressing while one stabilizes.
fn task_set_health(service: &ServiceObservation) -> Health {
    let progress = format!(
        "{} task set(s), {} of {} tasks running",
        service.task_sets.len(),
        service.running_count,
        service.desired_count
    );
    match service
        .task_sets
        .iter()
        .find(|t| t.stability_status.as_deref() != Some("STEADY_STATE"))
    {
        Some(moving) => Health::Progressing {
            reason: "TaskSetsStabilizing",
            message: format!(
                "{progress}; task set {} is {}",
                moving.id,
                moving.stability_status.as_deref().unwrap_or("starting")
            ),
        },
        None => Health::Ready(format!("{progress}; EXTERNAL service, task sets steady")),
    }
}

/// Forgets the figures of a service that is gone.
pub(super) fn clear_observation(status: &mut EcsServiceStatus) {
    status.service_arn = None;
    status.task_definition = None;
    status.task_definition_arn = None;
    status.desired_count = None;
    status.running_count = None;
    status.pending_count = None;
    status.primary_deployment_id = None;
    status.rollout_state = None;
    status.rollout_state_reason = None;
    status.last_event_id = None;
    status.task_sets.clear();
}

/// ECS service events newer than `last_seen` (events come newest first), oldest first, at most
/// 10; on the first look only the newest one (not the service's whole history).
pub fn ecs_events(service: &ServiceObservation, last_seen: Option<&str>) -> Vec<Note> {
    let fresh: Vec<_> = match last_seen {
        None => service.events.iter().take(1).collect(),
        Some(last) => service
            .events
            .iter()
            .take_while(|e| e.id != last)
            .take(crate::aws::ecs::SERVICE_EVENTS_KEPT)
            .collect(),
    };
    fresh
        .into_iter()
        .rev()
        // ECS repeats "has reached a steady state" every few hours; the Ready condition and its
        // transition time already say it.
        .filter(|event| !event.message.ends_with("has reached a steady state."))
        .map(|event| {
            let lower = event.message.to_ascii_lowercase();
            let warning = [
                "unable to",
                "unhealthy",
                "failed",
                "rolling back",
                "insufficient",
                "throttled",
                "error",
            ]
            .iter()
            .any(|w| lower.contains(w));
            Note {
                warning,
                reason: "ServiceEvent",
                message: event.message.clone(),
            }
        })
        .collect()
}

/// How long a rollout may run before its stopped tasks are read whatever its counts: ECS resets
/// `failedTasks` to 0 once one task ran, so tasks that start, pass their checks and then exit do
/// not show there ("the circuit breaker might not activate").
pub const ROLLOUT_TROUBLE_SECONDS: i64 = 120;

/// Whether the service's stopped tasks are worth reading at `now` (seconds since the epoch): a
/// deployment counts failed tasks or has failed, a rollout has run longer than
/// [`ROLLOUT_TROUBLE_SECONDS`], or fewer tasks run than desired with no rollout under way
/// (tasks were lost). A young rollout going well and a healthy service cost no task read.
pub fn troubled(service: &ServiceObservation, now: i64) -> bool {
    let failing = service
        .deployments
        .iter()
        .any(|d| d.failed_tasks > 0 || d.rollout_state == Some(RolloutState::Failed));
    let rolling: Vec<_> = service
        .deployments
        .iter()
        .filter(|d| d.rollout_state == Some(RolloutState::InProgress))
        .collect();
    let long = rolling.iter().any(|d| {
        d.created_at
            .is_none_or(|at| now - at > ROLLOUT_TROUBLE_SECONDS)
    });
    failing || long || (rolling.is_empty() && service.running_count < service.desired_count)
}

/// Most stopped tasks told on the first look at a troubled service (ECS keeps stopped tasks
/// about an hour; older trouble is not news).
const FIRST_LOOK_TASKS: usize = 3;
/// Most stopped tasks told in one pass.
const TASKS_PER_PASS: usize = 10;

fn stopped_key(task: &TaskStatus) -> (i64, String) {
    let at = task
        .stopped_at
        .as_deref()
        .and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok())
        .map_or(0, |t| t.as_millisecond());
    (at, task.task_arn.clone())
}

/// A Warning Event for each unexpectedly stopped task newer than `last` (by stop time, then
/// ARN, so each task is told once), oldest first; and the newest of them, for status.
pub fn stopped_task_notes(
    stopped: &[TaskObservation],
    last: Option<&TaskStatus>,
) -> (Vec<Note>, Option<TaskStatus>) {
    let after = last.map(stopped_key);
    let mut fresh: Vec<TaskStatus> = stopped
        .iter()
        .filter(|t| t.last_status == "STOPPED" && unexpected(t))
        .map(task_status)
        .filter(|t| after.as_ref().is_none_or(|after| stopped_key(t) > *after))
        .collect();
    fresh.sort_by_key(stopped_key);
    let keep = if last.is_none() {
        FIRST_LOOK_TASKS
    } else {
        TASKS_PER_PASS
    };
    let fresh = fresh.split_off(fresh.len().saturating_sub(keep));
    let notes = fresh
        .iter()
        .map(|task| Note {
            warning: true,
            reason: "TaskStopped",
            message: ending(task),
        })
        .collect();
    (notes, fresh.last().cloned())
}

/// Whether a status value is considered settled (no need for a fresh read).
pub fn settled(status: &EcsServiceStatus) -> bool {
    // ECS reports no rollout state behind a Classic Load Balancer or for CODE_DEPLOY / EXTERNAL.
    // Figures are only there once a pass has seen the service: one just created is not settled
    // (a read-ahead answer may predate it).
    matches!(status.rollout_state.as_deref(), Some("COMPLETED") | None)
        && status.service_arn.is_some()
        && status.desired_count.is_some()
        && (status.running_count == status.desired_count
            || (!status.task_sets.is_empty()
                && status
                    .task_sets
                    .iter()
                    .all(|t| t.stability_status.as_deref() == Some("STEADY_STATE"))))
}

/// When the next pass of a service polls its rollout (as the plan's requeue will say), or `None`
/// when it looks settled and its next pass is a resync: tells the read-ahead cache when a
/// neighbour's describe may read it for that poll. A service not seen yet (created by this pass,
/// or a moment ago) is polled at once.
pub fn next_poll(
    service: Option<&ServiceObservation>,
    poll: std::time::Duration,
    now: i64,
) -> Option<std::time::Duration> {
    let Some(service) = service else {
        return Some(super::plan::progress_poll(poll, Some(0)));
    };
    let primary = service
        .deployments
        .iter()
        .find(|d| d.status == DeploymentStatus::Primary);
    let settled = service.deployments.len() == 1
        && service.running_count == service.desired_count
        && primary.is_some_and(|d| {
            d.rollout_state
                .as_ref()
                .is_none_or(|r| *r == RolloutState::Completed)
        });
    // CODE_DEPLOY and EXTERNAL services report task sets, not deployments.
    let steady_task_sets = service.deployments.is_empty()
        && !service.task_sets.is_empty()
        && service
            .task_sets
            .iter()
            .all(|t| t.stability_status.as_deref() == Some("STEADY_STATE"));
    if settled || steady_task_sets {
        return None;
    }
    let age = primary
        .and_then(|d| d.created_at)
        .map_or(0, |started| now.saturating_sub(started));
    Some(super::plan::progress_poll(poll, Some(age)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stopped(id: &str, at: &str, code: &str, reason: &str) -> TaskObservation {
        TaskObservation {
            arn: format!("arn:aws:ecs:us-east-1:1:task/prod/{id}"),
            last_status: "STOPPED".into(),
            stop_code: Some(code.into()),
            stopped_reason: Some(reason.into()),
            stopped_at: Some(at.into()),
            ..Default::default()
        }
    }

    fn pull(id: &str, at: &str) -> TaskObservation {
        stopped(
            id,
            at,
            "TaskFailedToStart",
            "CannotPullContainerError: not found",
        )
    }

    #[test]
    fn stopped_tasks_are_read_only_for_failures_and_lost_tasks() {
        use crate::aws::types::DeploymentObservation;
        let now = 10_000;
        let deployment = |state: RolloutState, failed: i32| DeploymentObservation {
            rollout_state: Some(state),
            failed_tasks: failed,
            created_at: Some(now - 30),
            ..Default::default()
        };
        let troubled = |service: &ServiceObservation| troubled(service, now);
        let service = |running: i32, deployments: Vec<DeploymentObservation>| ServiceObservation {
            desired_count: 2,
            running_count: running,
            deployments,
            ..Default::default()
        };
        // A new service's first rollout (or any rollout) going well: no task read.
        assert!(!troubled(&service(
            0,
            vec![deployment(RolloutState::InProgress, 0)]
        )));
        assert!(!troubled(&service(
            1,
            vec![
                deployment(RolloutState::InProgress, 0),
                deployment(RolloutState::Completed, 0)
            ]
        )));
        assert!(!troubled(&service(
            2,
            vec![deployment(RolloutState::Completed, 0)]
        )));
        // Tasks failing to start, a failed rollout, tasks lost from a steady service: read.
        assert!(troubled(&service(
            0,
            vec![deployment(RolloutState::InProgress, 1)]
        )));
        assert!(troubled(&service(
            2,
            vec![deployment(RolloutState::Failed, 0)]
        )));
        assert!(troubled(&service(
            1,
            vec![deployment(RolloutState::Completed, 0)]
        )));
        // Tasks that run and then exit: failedTasks stays 0, the rollout never ends.
        let mut old = deployment(RolloutState::InProgress, 0);
        old.created_at = Some(now - ROLLOUT_TROUBLE_SECONDS - 1);
        assert!(troubled(&service(1, vec![old])));
    }

    #[test]
    fn each_unexpected_stop_is_told_once_newest_into_status() {
        let tasks = vec![
            pull("b", "2026-12-05T01:00:02Z"),
            pull("a", "2026-12-05T01:00:01Z"),
            stopped(
                "old",
                "2026-12-05T01:00:03Z",
                "ServiceSchedulerInitiated",
                "Scaling activity initiated by (deployment ecs-svc/1)",
            ),
        ];
        let (notes, last) = stopped_task_notes(&tasks, None);
        let told: Vec<&str> = notes.iter().map(|n| n.message.as_str()).collect();
        assert_eq!(told.len(), 2, "{told:?}");
        assert!(told[0].starts_with("task a stopped (TaskFailedToStart)"));
        assert!(notes.iter().all(|n| n.warning && n.reason == "TaskStopped"));
        let last = last.expect("newest");
        assert!(last.task_arn.ends_with("/b"));

        // The next pass tells only what stopped since.
        let mut more = tasks.clone();
        more.push(pull("c", "2026-12-05T01:00:02.500Z"));
        let (notes, newest) = stopped_task_notes(&more, Some(&last));
        assert_eq!(notes.len(), 1);
        assert!(notes[0].message.starts_with("task c stopped"));
        let (again, none) = stopped_task_notes(&more, newest.as_ref());
        assert!(again.is_empty() && none.is_none());
    }

    #[test]
    fn the_first_look_tells_only_the_newest_few() {
        let tasks: Vec<TaskObservation> = (0..8)
            .map(|i| pull(&format!("t{i}"), &format!("2026-12-05T01:00:0{i}Z")))
            .collect();
        let (notes, last) = stopped_task_notes(&tasks, None);
        assert_eq!(notes.len(), FIRST_LOOK_TASKS);
        assert!(last.is_some_and(|t| t.task_arn.ends_with("/t7")));
    }

    #[test]
    fn the_next_poll_follows_the_rollouts_age_and_a_settled_service_has_none() {
        use crate::aws::types::DeploymentObservation;
        use std::time::Duration;
        let poll = Duration::from_secs(15);
        let now = 10_000;
        let deployment = |state: RolloutState, age: i64| DeploymentObservation {
            status: DeploymentStatus::Primary,
            rollout_state: Some(state),
            created_at: Some(now - age),
            ..Default::default()
        };
        let service = |running: i32, deployments: Vec<DeploymentObservation>| ServiceObservation {
            desired_count: 2,
            running_count: running,
            deployments,
            ..Default::default()
        };
        assert_eq!(next_poll(None, poll, now), Some(Duration::from_secs(1)));
        assert_eq!(
            next_poll(
                Some(&service(0, vec![deployment(RolloutState::InProgress, 2)])),
                poll,
                now
            ),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            next_poll(
                Some(&service(1, vec![deployment(RolloutState::InProgress, 40)])),
                poll,
                now
            ),
            Some(Duration::from_secs(10)),
            "a quarter of the rollout's age"
        );
        assert_eq!(
            next_poll(
                Some(&service(2, vec![deployment(RolloutState::Completed, 40)])),
                poll,
                now
            ),
            None
        );
        assert!(
            next_poll(
                Some(&service(1, vec![deployment(RolloutState::Completed, 40)])),
                poll,
                now
            )
            .is_some(),
            "a task short: not settled"
        );
        let task_set = |stability: &str| crate::aws::types::TaskSetObservation {
            stability_status: Some(stability.into()),
            ..Default::default()
        };
        let mut external = service(0, Vec::new());
        external.task_sets = vec![task_set("STEADY_STATE")];
        assert_eq!(next_poll(Some(&external), poll, now), None);
        external.task_sets.push(task_set("STABILIZING"));
        assert!(next_poll(Some(&external), poll, now).is_some());
    }
}
