//! The ECS task calls: RunTask, StopTask, DescribeTasks (batched by 100) and ListTasks.
//! Budgeted, counted and classified like every call of [`EcsApi`].

use aws_sdk_ecs as ecs;

use super::call::{Repeat, collect_pages};
use super::ecs::{EcsApi, missing};
use super::error::AwsError;
use super::limits::ApiCategory;
use super::sdk;
use super::types::{ContainerObservation, TaskObservation};
use crate::translate::task::RunTaskRequest;

/// Most tasks one DescribeTasks call may name ("Up to 100 tasks can be described in one
/// call").
pub const DESCRIBE_TASKS_MAX: usize = 100;
/// Most results one ListTasks page may hold ("This value can be between 1 and 100.").
const LIST_TASKS_PAGE: i32 = 100;

/// Which tasks a ListTasks call asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only tasks with this `startedBy`.
    pub started_by: Option<String>,
    /// Only tasks of this service.
    pub service_name: Option<String>,
    /// STOPPED for stopped tasks (ECS lists RUNNING, the default, otherwise).
    pub stopped: bool,
}

/// What RunTask answered: the tasks it started and the failures it reported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunTaskAnswer {
    /// The tasks started.
    pub tasks: Vec<TaskObservation>,
    /// `reason` (with `detail`) of each failure.
    pub failures: Vec<String>,
}

impl EcsApi {
    /// The ARNs of the tasks in `cluster` that `filter` selects.
    pub async fn list_tasks(
        &self,
        cluster: &str,
        filter: &TaskFilter,
    ) -> Result<Vec<String>, AwsError> {
        let desired = filter.stopped.then_some(ecs::types::DesiredStatus::Stopped);
        collect_pages("ListTasks", |next_token| {
            let desired = desired.clone();
            async move {
                let output = self
                    .caller
                    .send(
                        ApiCategory::ClusterResourceRead,
                        "ListTasks",
                        Repeat::Safe,
                        || {
                            self.client
                                .list_tasks()
                                .cluster(cluster)
                                .set_started_by(filter.started_by.clone())
                                .set_service_name(filter.service_name.clone())
                                .set_desired_status(desired.clone())
                                .max_results(LIST_TASKS_PAGE)
                                .set_next_token(next_token.clone())
                                .send()
                        },
                    )
                    .await?;
                Ok((
                    output.task_arns().to_vec(),
                    output.next_token().map(str::to_owned),
                ))
            }
        })
        .await
    }

    /// The tasks `arns` of `cluster`, described 100 to a call. Tasks ECS no longer knows
    /// (stopped more than about an hour ago) are left out.
    pub async fn describe_tasks(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<TaskObservation>, AwsError> {
        let mut found = Vec::new();
        for chunk in arns.chunks(DESCRIBE_TASKS_MAX) {
            let output = self
                .caller
                .send(
                    ApiCategory::ClusterResourceRead,
                    "DescribeTasks",
                    Repeat::Safe,
                    || {
                        self.client
                            .describe_tasks()
                            .cluster(cluster)
                            .set_tasks(Some(chunk.to_vec()))
                            .send()
                    },
                )
                .await?;
            found.extend(output.tasks().iter().map(task_of));
        }
        Ok(found)
    }

    /// The tasks of `cluster` not yet stopped, with their `startedBy`.
    pub async fn running_tasks_in(
        &self,
        cluster: &str,
    ) -> Result<Vec<(String, Option<String>)>, AwsError> {
        let arns = self.list_tasks(cluster, &TaskFilter::default()).await?;
        if arns.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .describe_tasks(cluster, &arns)
            .await?
            .into_iter()
            .map(|task| (task.arn, task.started_by))
            .collect())
    }

    /// Runs tasks. Safe to repeat only with a client token, which the EcsTask controller always
    /// sends ("The same client token ... must be used for subsequent retries").
    pub async fn run_task(&self, request: &RunTaskRequest) -> Result<RunTaskAnswer, AwsError> {
        let input = sdk::run_task(request)?;
        let repeat = if request.client_token.is_some() {
            Repeat::Safe
        } else {
            Repeat::Unsafe
        };
        let output = self
            .caller
            .send(
                ApiCategory::ClusterResourceModify,
                "RunTask",
                repeat,
                || input.clone().send_with(&self.client),
            )
            .await?;
        Ok(RunTaskAnswer {
            tasks: output.tasks().iter().map(task_of).collect(),
            failures: output
                .failures()
                .iter()
                .map(|f| match (f.reason(), f.detail()) {
                    (Some(reason), Some(detail)) => format!("{reason}: {detail}"),
                    (reason, _) => reason.unwrap_or("unknown failure").to_owned(),
                })
                .collect(),
        })
    }

    /// Stops a task, with the reason ECS shows in its `stoppedReason`.
    pub async fn stop_task(
        &self,
        cluster: &str,
        task: &str,
        reason: &str,
    ) -> Result<TaskObservation, AwsError> {
        let output = self
            .caller
            .send(
                ApiCategory::ClusterResourceModify,
                "StopTask",
                Repeat::Safe,
                || {
                    self.client
                        .stop_task()
                        .cluster(cluster)
                        .task(task)
                        .reason(reason)
                        .send()
                },
            )
            .await?;
        output
            .task()
            .map(task_of)
            .ok_or_else(|| missing("StopTask", "task"))
    }
}

fn time(value: Option<&ecs::primitives::DateTime>) -> Option<String> {
    value.and_then(|t| t.fmt(ecs::primitives::DateTimeFormat::DateTime).ok())
}

fn task_of(task: &ecs::types::Task) -> TaskObservation {
    TaskObservation {
        arn: task.task_arn().unwrap_or_default().to_owned(),
        cluster_arn: task.cluster_arn().unwrap_or_default().to_owned(),
        task_definition_arn: task.task_definition_arn().unwrap_or_default().to_owned(),
        last_status: task.last_status().unwrap_or_default().to_owned(),
        desired_status: task.desired_status().unwrap_or_default().to_owned(),
        started_by: task.started_by().map(str::to_owned),
        stop_code: task.stop_code().map(|c| c.as_str().to_owned()),
        stopped_reason: task.stopped_reason().map(str::to_owned),
        started_at: time(task.started_at()),
        stopped_at: time(task.stopped_at()),
        containers: task
            .containers()
            .iter()
            .map(|c| ContainerObservation {
                name: c.name().unwrap_or_default().to_owned(),
                last_status: c.last_status().unwrap_or_default().to_owned(),
                exit_code: c.exit_code(),
                reason: c.reason().map(str::to_owned),
            })
            .collect(),
    }
}
