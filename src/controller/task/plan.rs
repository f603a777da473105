//! The EcsTask plan (pure): run once, follow the tasks until they stop, judge the outcome from
//! stop codes and the essential containers' exit codes, stop the tasks on deletion.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use crate::api::task::{EcsTaskStatus, TaskPhase, TaskStatus};
use crate::aws::tasks::RunTaskAnswer;
use crate::aws::types::{TaskDefinitionRevision, TaskObservation};
use crate::controller::error::ReconcileError;
use crate::controller::pipeline::{Cleanup, Note, Plan, Progress, Timing};
pub use crate::controller::stopped_tasks::{ending, task_status};
use crate::translate::task::RunTaskRequest;

/// What the spec asks for, resolved.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Desired {
    /// The RunTask request (cluster and task definition resolved; identity from the UID).
    pub request: RunTaskRequest,
    /// Hash of the run-defining spec.
    pub run_hash: String,
    /// `ttlSecondsAfterFinished`.
    pub ttl: Option<Duration>,
    /// The object's namespace and name (the TTL deletes it).
    pub object: (String, String),
}

/// What observation found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// The tasks of the run as ECS reports them now (by recorded ARN, or found by `startedBy`
    /// when none is recorded yet).
    pub tasks: Vec<TaskObservation>,
    /// The task definition to run, described before the run (its ARN and essential
    /// containers).
    pub revision: Option<TaskDefinitionRevision>,
    /// Recorded tasks ECS no longer reports (DescribeTasks answers MISSING: "stopped tasks
    /// appear in the returned results for at least one hour").
    pub missing: Vec<String>,
    /// The time of the observation.
    pub now: Option<Timestamp>,
}

/// One write.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// RunTask.
    Run {
        /// The request (its task definition the pinned ARN).
        request: Box<RunTaskRequest>,
    },
    /// StopTask.
    Stop {
        /// The cluster.
        cluster: String,
        /// The task ARN.
        task: String,
        /// The reason ECS records.
        reason: String,
    },
    /// Deletes this object once its TTL after finishing ran out.
    Expire {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
}

/// What AWS answered.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// RunTask's answer.
    Ran(RunTaskAnswer),
    /// Accepted.
    Done,
}

/// The reconcile plan.
pub type TaskPlan = Plan<EcsTaskStatus, Step, Progress>;

/// Whether a stopped task did its job: ECS stopped it because its essential containers exited,
/// and each of them exited 0.
pub fn task_succeeded(task: &TaskStatus, essential: &[String]) -> bool {
    task.stop_code.as_deref() == Some("EssentialContainerExited")
        && task
            .containers
            .iter()
            .filter(|c| essential.is_empty() || essential.contains(&c.name))
            .all(|c| c.exit_code == Some(0))
}

fn stopped(task: &TaskStatus) -> bool {
    task.last_status.as_deref() == Some("STOPPED")
}

/// Merges what ECS reports into the recorded tasks, with an Event for each task that changed
/// state; tasks ECS no longer reports keep their record.
fn merge(status: &mut EcsTaskStatus, observed: &[TaskObservation], notes: &mut Vec<Note>) {
    for task in observed {
        let next = task_status(task);
        let before = status
            .tasks
            .iter()
            .position(|t| t.task_arn == next.task_arn);
        let changed = before
            .map(|i| status.tasks[i].last_status != next.last_status)
            .unwrap_or(true);
        if changed {
            notes.push(transition_note(&next, &status.essential_containers));
        }
        match before {
            Some(i) => status.tasks[i] = next,
            None => status.tasks.push(next),
        }
    }
}

fn transition_note(task: &TaskStatus, essential: &[String]) -> Note {
    let id = task.task_arn.rsplit('/').next().unwrap_or(&task.task_arn);
    if !stopped(task) {
        return Note::normal(
            "TaskStatus",
            format!(
                "task {id} is {}",
                task.last_status.as_deref().unwrap_or("unknown")
            ),
        );
    }
    if task_succeeded(task, essential) {
        Note::normal("TaskSucceeded", ending(task))
    } else {
        Note::warning("TaskFailed", ending(task))
    }
}

/// The phase, the stop code and reason to show, and the completion time, from the tasks.
fn judge(status: &mut EcsTaskStatus) {
    let all_stopped = !status.tasks.is_empty() && status.tasks.iter().all(stopped);
    let failed = status
        .tasks
        .iter()
        .find(|t| stopped(t) && !task_succeeded(t, &status.essential_containers));
    status.phase = Some(if status.tasks.is_empty() {
        if status.failures.is_empty() {
            TaskPhase::Pending
        } else {
            TaskPhase::Failed
        }
    } else if !all_stopped {
        if status
            .tasks
            .iter()
            .any(|t| matches!(t.last_status.as_deref(), Some("RUNNING") | Some("STOPPED")))
        {
            TaskPhase::Running
        } else {
            TaskPhase::Pending
        }
    } else if failed.is_some() || !status.failures.is_empty() {
        TaskPhase::Failed
    } else {
        TaskPhase::Succeeded
    });
    let shown = failed.or_else(|| status.tasks.iter().rfind(|t| stopped(t)));
    status.stop_code = shown.and_then(|t| t.stop_code.clone());
    status.stopped_reason = shown.and_then(|t| t.stopped_reason.clone());
    status.completion_time =
        if all_stopped || (status.tasks.is_empty() && !status.failures.is_empty()) {
            status
                .tasks
                .iter()
                .filter_map(|t| t.stopped_at.clone())
                .max()
                .or(status.completion_time.take())
        } else {
            None
        };
}

/// Fixes in status what the run is: the revision (by ARN) and its essential containers, the
/// run's identity and the spec hash it starts from.
fn pin(status: &mut EcsTaskStatus, desired: &Desired, revision: &TaskDefinitionRevision) {
    status.task_definition_arn = Some(revision.arn.clone());
    status.task_definition = Some(format!("{}:{}", revision.family, revision.revision));
    status.essential_containers = revision.essential_containers.clone();
    status.started_by = desired.request.started_by.clone();
    status.run_hash = Some(desired.run_hash.clone());
    status.cluster_arn = Some(desired.request.cluster.clone());
}

/// How long ECS keeps reporting stopped tasks ("stopped tasks appear in the returned results for
/// at least one hour").
const STOPPED_TASK_RETENTION_SECONDS: i64 = 3600;

/// The plan of a pass.
pub fn plan(
    desired: &Desired,
    observed: &Observed,
    status: &EcsTaskStatus,
    timing: Timing,
) -> TaskPlan {
    let mut next = status.clone();
    let mut notes = Vec::new();
    let started = !status.tasks.is_empty() || !status.failures.is_empty();
    let wanted = usize::try_from(desired.request.count.unwrap_or(1)).unwrap_or(1);
    if !started && observed.tasks.len() < wanted {
        // The run is pinned in status (a pass of its own, before RunTask): a RunTask repeated
        // after a crash is then the same request, and its client token returns the same tasks
        // ("Requests with the same token in the same cluster are idempotent"), the stopped
        // ones too, which ListTasks by startedBy (RUNNING only) does not find.
        if let Some(arn) = &status.task_definition_arn {
            let mut request = desired.request.clone();
            request.task_definition = arn.clone();
            return Plan::new(
                next,
                vec![Step::Run {
                    request: Box::new(request),
                }],
                Ok(Progress::Progressing {
                    reason: "TaskStarting".into(),
                    message: "RunTask accepted; waiting for the tasks".into(),
                    requeue: timing.poll,
                }),
            );
        }
        let Some(revision) = &observed.revision else {
            return Plan::only(
                next,
                Err(ReconcileError::waiting(
                    "TaskDefinitionNotFound",
                    format!(
                        "task definition {} is not registered (or not ACTIVE): register it, or correct spec.taskDefinition / spec.taskDefinitionRef",
                        desired.request.task_definition
                    ),
                )),
            );
        };
        pin(&mut next, desired, revision);
        next.start_time = observed.now.map(|t| t.to_string());
        next.phase = Some(TaskPhase::Pending);
        let message = format!(
            "running {} in {}",
            next.task_definition.as_deref().unwrap_or_default(),
            desired.request.cluster
        );
        return Plan::only(
            next,
            Ok(Progress::Progressing {
                reason: "TaskStarting".into(),
                message,
                // Soon, but not at once: the next pass must see the pinned status in the cache.
                requeue: timing.poll.min(Duration::from_secs(1)),
            }),
        );
    }
    if !started {
        // Tasks of this object exist that status does not record (a crash right after
        // RunTask): they are the run, and RunTask is not sent again.
        if let Some(revision) = &observed.revision {
            pin(&mut next, desired, revision);
        }
        notes.push(Note::normal(
            "TaskFound",
            format!(
                "found {} task(s) this object started before; not running again",
                observed.tasks.len()
            ),
        ));
    }
    merge(&mut next, &observed.tasks, &mut notes);
    // A task ECS does not report is gone only once ECS would have dropped it (stopped tasks
    // stay "for at least one hour"); a task just started may not be visible yet.
    let run_age = match (next.start_time.as_deref(), observed.now) {
        (Some(start), Some(now)) => start
            .parse::<Timestamp>()
            .map_or(0, |start| now.as_second() - start.as_second()),
        _ => 0,
    };
    if run_age > STOPPED_TASK_RETENTION_SECONDS {
        for task in next.tasks.iter_mut() {
            if observed.missing.contains(&task.task_arn) && !stopped(task) {
                task.last_status = Some("STOPPED".into());
                task.stopped_at = observed.now.map(|t| t.to_string());
                task.stopped_reason = Some(
                    "ECS no longer reports this task (it stopped over an hour before the operator looked again): its outcome is unknown".into(),
                );
                notes.push(Note::warning("TaskFailed", ending(task)));
            }
        }
    }
    judge(&mut next);
    if matches!(next.phase, Some(TaskPhase::Succeeded | TaskPhase::Failed))
        && next.completion_time.is_none()
    {
        // Nothing stopped with a time (RunTask started nothing): finished as of this pass, so
        // the TTL after finishing counts from here.
        next.completion_time = observed.now.map(|t| t.to_string());
    }
    let changed = next
        .run_hash
        .as_deref()
        .is_some_and(|h| h != desired.run_hash);
    let suffix = if changed {
        " (the spec changed after the run started; a run is not changed or repeated: create a new EcsTask to run again)"
    } else {
        ""
    };
    let outcome = match next.phase {
        Some(TaskPhase::Succeeded) => finished(&next, desired, observed, "Succeeded", suffix),
        Some(TaskPhase::Failed) => {
            let message = next
                .tasks
                .iter()
                .find(|t| stopped(t) && !task_succeeded(t, &next.essential_containers))
                .map(ending)
                .or_else(|| {
                    next.failures
                        .first()
                        .map(|f| format!("RunTask could not start the tasks: {f}"))
                })
                .unwrap_or_default();
            Ok(Progress::Stalled {
                reason: "TaskFailed".into(),
                message: format!("{message}{suffix}"),
                requeue: ttl_left(&next, desired, observed).unwrap_or(timing.resync),
            })
        }
        _ => Ok(Progress::Progressing {
            reason: "TaskRunning".into(),
            message: format!(
                "{} of {} task(s) stopped{suffix}",
                next.tasks.iter().filter(|t| stopped(t)).count(),
                next.tasks.len()
            ),
            requeue: timing.poll,
        }),
    };
    let mut steps = Vec::new();
    if matches!(next.phase, Some(TaskPhase::Succeeded | TaskPhase::Failed))
        && ttl_left(&next, desired, observed) == Some(Duration::ZERO)
    {
        steps.push(Step::Expire {
            namespace: desired.object.0.clone(),
            name: desired.object.1.clone(),
        });
    }
    let mut plan = Plan::new(next, steps, outcome);
    plan.notes = notes;
    plan
}

/// How long until the TTL after finishing runs out (zero once it has), if one is set.
fn ttl_left(status: &EcsTaskStatus, desired: &Desired, observed: &Observed) -> Option<Duration> {
    let ttl = desired.ttl?;
    let done: Timestamp = status.completion_time.as_deref()?.parse().ok()?;
    let now = observed.now?;
    let elapsed = u64::try_from(now.as_second() - done.as_second()).unwrap_or(0);
    Some(ttl.saturating_sub(Duration::from_secs(elapsed)))
}

fn finished(
    status: &EcsTaskStatus,
    desired: &Desired,
    observed: &Observed,
    reason: &str,
    suffix: &str,
) -> Result<Progress, ReconcileError> {
    let message = format!(
        "{} task(s) stopped with their essential containers exited 0{suffix}",
        status.tasks.len()
    );
    Ok(match ttl_left(status, desired, observed) {
        Some(left) if left > Duration::ZERO => Progress::ReadyFor {
            reason: reason.into(),
            message,
            requeue: left,
        },
        _ => Progress::Ready {
            reason: reason.into(),
            message,
        },
    })
}

/// Records a write AWS accepted.
pub fn commit(step: Step, answer: Answer, status: &mut EcsTaskStatus, notes: &mut Vec<Note>) {
    match (step, answer) {
        (Step::Run { .. }, Answer::Ran(ran)) => {
            status.failures = ran.failures.clone();
            notes.push(Note::normal(
                "TaskStarted",
                format!(
                    "RunTask started {}",
                    ran.tasks
                        .iter()
                        .map(|t| t.arn.rsplit('/').next().unwrap_or(&t.arn).to_owned())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
            for failure in &ran.failures {
                notes.push(Note::warning(
                    "RunTaskFailure",
                    format!("RunTask could not start a task: {failure}"),
                ));
            }
            if let Some(cluster) = ran.tasks.first().map(|t| t.cluster_arn.clone()) {
                status.cluster_arn = Some(cluster)
                    .filter(|c| !c.is_empty())
                    .or(status.cluster_arn.take());
            }
            merge(status, &ran.tasks, &mut Vec::new());
            judge(status);
        }
        (Step::Stop { task, .. }, _) => {
            let id = task.rsplit('/').next().unwrap_or(&task).to_owned();
            notes.push(Note::normal("TaskStopping", format!("stopping task {id}")));
        }
        _ => {}
    }
}

/// Deletion: stop the tasks still running (unless `stopOnDelete: false`), then let go.
pub fn cleanup_plan(
    stop_on_delete: bool,
    cluster: Option<&str>,
    observed: &[TaskObservation],
    status: &EcsTaskStatus,
) -> Plan<EcsTaskStatus, Step, Cleanup> {
    let Some(cluster) = cluster.filter(|_| stop_on_delete) else {
        return Plan::only(status.clone(), Ok(Cleanup::Done));
    };
    let steps = observed
        .iter()
        .filter(|t| t.last_status != "STOPPED" && t.desired_status != "STOPPED")
        .map(|t| Step::Stop {
            cluster: cluster.to_owned(),
            task: t.arn.clone(),
            reason: "Stopped by ecs-operator: its EcsTask was deleted".into(),
        })
        .collect();
    Plan::new(status.clone(), steps, Ok(Cleanup::Done))
}

#[cfg(test)]
mod tests;
