//! A service's tasks, materialised from its deployments so that DescribeTasks and ListTasks
//! show them as ECS does: group `service:<name>`, `startedBy` the deployment id, the
//! deployment's task definition and launch type. A deployment's running count is that many
//! RUNNING tasks; a failing one leaves one STOPPED task per failed task, with its image's
//! outcome (TaskFailedToStart and CannotPullContainerError, or the essential container's exit
//! code); tasks of a deployment that is gone, or beyond its count, are stopped by the scheduler
//! (ServiceSchedulerInitiated). Stopped tasks are kept `stoppedRetentionSeconds`. The service
//! events that tell tasks started and stopped name these tasks.

use super::*;

impl EcsModel {
    /// Brings `service`'s tasks in line with its deployments now, with a service event naming
    /// the tasks started and one naming the running tasks stopped.
    pub(super) fn materialise_service_tasks(&self, service: &mut Service, knobs: &Knobs) {
        let live: Vec<String> = if service.status == Status::Inactive {
            Vec::new()
        } else {
            service.deployments.iter().map(|d| d.id.clone()).collect()
        };
        let mut started: Vec<String> = Vec::new();
        let mut stopped: Vec<String> = Vec::new();
        for task in service.tasks.iter_mut() {
            if task.is_live(knobs)
                && task
                    .started_by()
                    .is_some_and(|id| !live.iter().any(|l| l == id))
            {
                stopped.push(task.id().to_owned());
                // The message ECS's scheduler leaves, as users report it.
                let reason = format!(
                    "Scaling activity initiated by (deployment {})",
                    task.started_by().unwrap_or_default()
                );
                task.stop("ServiceSchedulerInitiated", reason, knobs);
            }
        }
        if service.status == Status::Inactive {
            self.tell_tasks(service, &started, &stopped);
            return;
        }
        // Every call advances every service of the account: the deployments are copied only for
        // the one that starts tasks (copying them all took a tenth of the benchmark's CPU).
        for index in 0..service.deployments.len() {
            let deployment = &service.deployments[index];
            let of_deployment = |t: &Task| t.started_by() == Some(deployment.id.as_str());
            let running: Vec<usize> = service
                .tasks
                .iter()
                .enumerate()
                .filter(|(_, t)| of_deployment(t) && t.is_live(knobs))
                .map(|(i, _)| i)
                .collect();
            let wanted = if deployment.failing {
                0
            } else {
                usize::try_from(deployment.running_count).unwrap_or(0)
            };
            let failed = if deployment.failing {
                usize::try_from(deployment.failed_tasks).unwrap_or(0)
            } else {
                0
            };
            // Counted, not looked up: stopped tasks are forgotten after their retention.
            let recorded = deployment.failed_recorded;
            for &task in running.iter().skip(wanted) {
                stopped.push(service.tasks[task].id().to_owned());
                let reason = format!(
                    "Scaling activity initiated by (deployment {})",
                    deployment.id
                );
                service.tasks[task].stop("ServiceSchedulerInitiated", reason, knobs);
            }
            if running.len() >= wanted && recorded >= failed {
                continue;
            }
            // Copied: the tasks started below are pushed onto the same service.
            let deployment = service.deployments[index].clone();
            let deployment = &deployment;
            let Some(facts) = self.known_task_definition(&deployment.task_definition) else {
                continue;
            };
            for _ in running.len()..wanted {
                // Already RUNNING: the rollout counted it running.
                let task = Task::for_service(
                    service,
                    deployment,
                    &facts,
                    knobs,
                    &self.task_id()[..32],
                    knobs.task_seconds,
                );
                started.push(task.id().to_owned());
                service.tasks.push(task);
            }
            if deployment.failing {
                for _ in recorded..failed {
                    // Already STOPPED, with its image's outcome.
                    let mut task = Task::for_service(
                        service,
                        deployment,
                        &facts,
                        knobs,
                        &self.task_id()[..32],
                        0.0,
                    );
                    if let Some(after) = task.stops_on_its_own_after(knobs) {
                        task =
                            Task::for_service(service, deployment, &facts, knobs, task.id(), after);
                    }
                    // The scheduler started it; it failed after.
                    started.push(task.id().to_owned());
                    service.tasks.push(task);
                }
                if let Some(d) = service
                    .deployments
                    .iter_mut()
                    .find(|d| d.id == deployment.id)
                {
                    d.failed_recorded = failed;
                }
            }
        }
        self.tell_tasks(service, &started, &stopped);
    }

    /// The service events ECS's scheduler leaves for tasks it started and running tasks it
    /// stopped, naming each task: "(service NAME) has started N tasks: (task ID) (task ID)." (as
    /// users report these messages; the reference quotes none).
    fn tell_tasks(&self, service: &mut Service, started: &[String], stopped: &[String]) {
        let name = service.name.clone();
        let named = |ids: &[String]| {
            ids.iter()
                .map(|id| format!("(task {id})"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        if !started.is_empty() {
            let event = self.event(format!(
                "(service {name}) has started {} tasks: {}.",
                started.len(),
                named(started)
            ));
            service.push_event(event);
        }
        if !stopped.is_empty() {
            let event = self.event(format!(
                "(service {name}) has stopped {} running tasks: {}.",
                stopped.len(),
                named(stopped)
            ));
            service.push_event(event);
        }
    }
}
