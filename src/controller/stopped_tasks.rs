//! How a stopped task is told to people, shared by the EcsTask controller (its own tasks) and the
//! EcsService controller (the troubleshooting Events of tasks that stop unexpectedly): the status
//! entry of a task, and one line with its stop code, stopped reason and each container's exit code
//! and reason (CannotPullContainerError, ResourceInitializationError, OutOfMemoryError, ...).

use crate::api::task::{ContainerStatus, TaskStatus};
use crate::aws::types::TaskObservation;

/// A task's status entry from what ECS reports.
pub fn task_status(task: &TaskObservation) -> TaskStatus {
    TaskStatus {
        task_arn: task.arn.clone(),
        last_status: Some(task.last_status.clone()),
        stop_code: task.stop_code.clone(),
        stopped_reason: task.stopped_reason.clone(),
        started_at: task.started_at.clone(),
        stopped_at: task.stopped_at.clone(),
        containers: task
            .containers
            .iter()
            .map(|c| ContainerStatus {
                name: c.name.clone(),
                last_status: Some(c.last_status.clone()).filter(|s| !s.is_empty()),
                exit_code: c.exit_code,
                reason: c.reason.clone(),
            })
            .collect(),
    }
}

/// One line on how a task ended: stop code, stopped reason and each container's exit code and
/// reason (what `kubectl describe` readers need first).
pub fn ending(task: &TaskStatus) -> String {
    let id = task.task_arn.rsplit('/').next().unwrap_or(&task.task_arn);
    let mut line = format!(
        "task {id} stopped ({}): {}",
        task.stop_code.as_deref().unwrap_or("no stop code"),
        task.stopped_reason.as_deref().unwrap_or("no reason given")
    );
    for container in &task.containers {
        match (container.exit_code, &container.reason) {
            (Some(code), Some(reason)) => line.push_str(&format!(
                "; container {} exit code {code}: {reason}",
                container.name
            )),
            (Some(code), None) => {
                line.push_str(&format!("; container {} exit code {code}", container.name))
            }
            (None, Some(reason)) => {
                line.push_str(&format!("; container {}: {reason}", container.name))
            }
            (None, None) => {}
        }
    }
    line
}

/// Whether a service's task stopped for a reason nobody asked for: not by StopTask, and not by
/// the scheduler replacing or scaling in tasks ("Scaling activity initiated by (deployment
/// ...)"); a failed load balancer health check, a failed start or an exited container are.
pub fn unexpected(task: &TaskObservation) -> bool {
    match task.stop_code.as_deref() {
        Some("UserInitiated") => false,
        Some("ServiceSchedulerInitiated") => !task
            .stopped_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("Scaling activity initiated by")),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::types::ContainerObservation;

    fn stopped(code: &str, reason: &str) -> TaskObservation {
        TaskObservation {
            arn: "arn:aws:ecs:us-east-1:1:task/prod/abc".into(),
            last_status: "STOPPED".into(),
            stop_code: Some(code.into()),
            stopped_reason: Some(reason.into()),
            containers: vec![ContainerObservation {
                name: "app".into(),
                last_status: "STOPPED".into(),
                exit_code: Some(137),
                reason: Some("OutOfMemoryError: Container killed due to memory usage".into()),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn the_line_names_the_task_stop_code_reason_and_each_container() {
        let line = ending(&task_status(&stopped(
            "EssentialContainerExited",
            "Essential container in task exited",
        )));
        assert_eq!(
            line,
            "task abc stopped (EssentialContainerExited): Essential container in task exited; container app exit code 137: OutOfMemoryError: Container killed due to memory usage"
        );
    }

    #[test]
    fn replacements_and_stop_task_are_expected_and_everything_else_is_not() {
        assert!(!unexpected(&stopped(
            "UserInitiated",
            "stopped by a person"
        )));
        assert!(!unexpected(&stopped(
            "ServiceSchedulerInitiated",
            "Scaling activity initiated by (deployment ecs-svc/123)"
        )));
        assert!(unexpected(&stopped(
            "ServiceSchedulerInitiated",
            "Task failed ELB health checks in (target-group arn:...)"
        )));
        assert!(unexpected(&stopped(
            "TaskFailedToStart",
            "CannotPullContainerError: ..."
        )));
        assert!(unexpected(&stopped(
            "EssentialContainerExited",
            "Essential container in task exited"
        )));
    }
}
