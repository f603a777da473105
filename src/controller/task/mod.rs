//! EcsTask controller: one RunTask per object, never two (client token from the UID, and a
//! ListTasks by `startedBy` before running), the tasks followed until they stop, the outcome in
//! status, conditions and Events, StopTask on deletion, and the TTL after finishing.
//! Lookups (the referenced cluster and task definition) -> observe -> [`plan`] (pure) -> apply.

pub mod plan;

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use self::plan::{Answer, Desired, Observed, Step};
use super::Context;
use super::error::ReconcileError;
use super::pipeline::{Call, CleanupPlan, Kind, KindPlan, Note, Timing};
use super::runner::Managed;
use crate::api::task::EcsTaskStatus;
use crate::api::{EcsTask, EcsTaskDefinition, ReconcileStatus};
use crate::aws::tasks::TaskFilter;
use crate::aws::types::TaskObservation;
use crate::aws::{AwsErrorKind, gone_is_done};
use crate::translate::task;

/// Finalizer that keeps an object until its running tasks are stopped.
pub const FINALIZER: &str = "ecs.operator.dev/task";

impl Managed for EcsTask {
    type Status = EcsTaskStatus;
    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }
    fn reconcile_status(status: &mut Self::Status) -> &mut ReconcileStatus {
        &mut status.reconcile
    }
}

/// The cluster and task definition a run uses.
pub struct Resolved {
    /// Cluster name or ARN.
    pub cluster: String,
    /// Task definition family[:revision] or ARN.
    pub task_definition: String,
}

/// The EcsTask controller.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tasks;

/// Whether the run has started (tasks recorded, or RunTask answered with failures only).
fn started(status: &EcsTaskStatus) -> bool {
    !status.tasks.is_empty() || !status.failures.is_empty()
}

impl Kind for Tasks {
    type Object = EcsTask;
    type Lookups = Resolved;
    type Desired = Desired;
    type Observed = Observed;
    /// The tasks still to stop, when `stopOnDelete` and the run started.
    type CleanupObserved = Vec<TaskObservation>;
    type Step = Step;
    type Answer = Answer;
    const KIND: &'static str = "task";
    const FINALIZER: &'static str = FINALIZER;

    fn validate(object: &EcsTask) -> Result<(), ReconcileError> {
        task::validate(&object.spec).into_result()?;
        Ok(())
    }

    async fn lookups(
        &self,
        object: &EcsTask,
        ctx: &Context,
        status: &EcsTaskStatus,
    ) -> Result<Resolved, ReconcileError> {
        if let (Some(cluster), Some(task_definition)) =
            (&status.cluster_arn, &status.task_definition_arn)
        {
            // A pinned run keeps what it was pinned to, whatever its references do since.
            return Ok(Resolved {
                cluster: cluster.clone(),
                task_definition: task_definition.clone(),
            });
        }
        let namespace = object.namespace().unwrap_or_default();
        let spec = &object.spec;
        let cluster = match (&spec.cluster, &spec.cluster_ref) {
            (Some(cluster), _) => cluster.clone(),
            (None, Some(reference)) => super::ready_cluster(ctx, &namespace, reference)
                .await?
                .cluster_arn
                .unwrap_or_default(),
            (None, None) => String::new(),
        };
        let task_definition = match (&spec.task_definition, &spec.task_definition_ref) {
            (Some(literal), _) => literal.clone(),
            (None, Some(reference)) => {
                let api: kube::Api<EcsTaskDefinition> =
                    kube::Api::namespaced(ctx.client.clone(), &namespace);
                match api.get_opt(&reference.name).await? {
                    Some(td) if super::is_ready(&td) => td
                        .status
                        .and_then(|s| s.task_definition_arn)
                        .unwrap_or_default(),
                    found => {
                        return Err(ReconcileError::waiting(
                            if found.is_some() {
                                "TaskDefinitionNotReady"
                            } else {
                                "TaskDefinitionNotFound"
                            },
                            format!(
                                "waiting for EcsTaskDefinition {} (spec.taskDefinitionRef) to be Ready",
                                reference.name
                            ),
                        ));
                    }
                }
            }
            (None, None) => String::new(),
        };
        Ok(Resolved {
            cluster,
            task_definition,
        })
    }

    fn desired(object: &EcsTask, lookups: Resolved) -> Result<Desired, ReconcileError> {
        let uid = object.uid().unwrap_or_default();
        Ok(Desired {
            request: task::run_request(
                &object.spec,
                &lookups.cluster,
                &lookups.task_definition,
                &uid,
            ),
            run_hash: task::run_hash(&object.spec),
            ttl: object
                .spec
                .ttl_seconds_after_finished
                .map(|s| Duration::from_secs(u64::try_from(s).unwrap_or(0))),
            object: (object.namespace().unwrap_or_default(), object.name_any()),
        })
    }

    async fn observe(
        &self,
        _object: &EcsTask,
        ctx: &Context,
        desired: &Desired,
        status: &EcsTaskStatus,
    ) -> Result<Observed, ReconcileError> {
        let ecs = &ctx.aws.ecs;
        let cluster = &desired.request.cluster;
        let mut observed = Observed {
            now: Some(Timestamp::now()),
            ..Default::default()
        };
        if started(status) {
            // Only tasks not yet stopped are read again: a finished run costs no calls.
            let open: Vec<String> = status
                .tasks
                .iter()
                .filter(|t| t.last_status.as_deref() != Some("STOPPED"))
                .map(|t| t.task_arn.clone())
                .collect();
            if !open.is_empty() {
                observed.tasks = ecs.describe_tasks(cluster, &open).await?;
                observed.missing = open
                    .into_iter()
                    .filter(|arn| !observed.tasks.iter().any(|t| &t.arn == arn))
                    .collect();
            }
            return Ok(observed);
        }
        // Before running: a crash after RunTask left running tasks that status does not record.
        // (Tasks that already stopped are the pinned RunTask's: its repeat returns them.)
        // "When you specify startedBy as the filter, it must be the only filter that you use."
        let filter = TaskFilter {
            started_by: desired.request.started_by.clone(),
            ..Default::default()
        };
        let arns = ecs.list_tasks(cluster, &filter).await?;
        if !arns.is_empty() {
            observed.tasks = ecs.describe_tasks(cluster, &arns).await?;
        }
        if status.task_definition_arn.is_none() {
            observed.revision = ecs
                .describe_task_definition(&desired.request.task_definition)
                .await?
                .map(|(revision, _)| revision);
        }
        Ok(observed)
    }

    fn plan(
        desired: &Desired,
        observed: &Observed,
        status: &EcsTaskStatus,
        timing: Timing,
    ) -> KindPlan<Self> {
        plan::plan(desired, observed, status, timing)
    }

    async fn apply(&self, ctx: &Context, step: &Step) -> Result<Answer, ReconcileError> {
        match step {
            Step::Run { request, .. } => Ok(Answer::Ran(ctx.aws.ecs.run_task(request).await?)),
            Step::Stop {
                cluster,
                task,
                reason,
            } => {
                gone_is_done(ctx.aws.ecs.stop_task(cluster, task, reason).await)?;
                Ok(Answer::Done)
            }
            Step::Expire { namespace, name } => {
                let api: kube::Api<EcsTask> = kube::Api::namespaced(ctx.client.clone(), namespace);
                match api
                    .delete(name, &kube::api::DeleteParams::background())
                    .await
                {
                    Ok(_) => Ok(Answer::Done),
                    Err(kube::Error::Api(status)) if status.code == 404 => Ok(Answer::Done),
                    Err(error) => Err(error.into()),
                }
            }
        }
    }

    fn calls(step: &Step) -> Vec<Call> {
        match step {
            Step::Run { request } => vec![Call::new(
                "ecs:RunTask",
                &request.task_definition,
                request.as_ref(),
            )],
            Step::Stop {
                cluster,
                task,
                reason,
            } => vec![Call::new(
                "ecs:StopTask",
                task,
                serde_json::json!({ "cluster": cluster, "task": task, "reason": reason }),
            )],
            // A Kubernetes deletion of the finished object, not an AWS call.
            Step::Expire { .. } => Vec::new(),
        }
    }

    fn commit(step: Step, answer: Answer, status: &mut EcsTaskStatus, notes: &mut Vec<Note>) {
        plan::commit(step, answer, status, notes);
    }

    async fn observe_cleanup(
        &self,
        object: &EcsTask,
        ctx: &Context,
        status: &EcsTaskStatus,
    ) -> Result<Vec<TaskObservation>, ReconcileError> {
        let Some(cluster) = status.cluster_arn.as_deref() else {
            return Ok(Vec::new());
        };
        if object.spec.stop_on_delete == Some(false) {
            return Ok(Vec::new());
        }
        // By `startedBy`, not only by the recorded ARNs: a pass may have been cut off between
        // RunTask and its status write.
        let filter = TaskFilter {
            started_by: Some(task::started_by(&object.uid().unwrap_or_default())),
            ..Default::default()
        };
        let arns = match ctx.aws.ecs.list_tasks(cluster, &filter).await {
            Ok(arns) => arns,
            // The cluster is gone (deleted alongside): so are its tasks.
            Err(e) if e.kind == AwsErrorKind::MissingDependency => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        if arns.is_empty() {
            return Ok(Vec::new());
        }
        Ok(ctx.aws.ecs.describe_tasks(cluster, &arns).await?)
    }

    fn plan_cleanup(
        object: &EcsTask,
        observed: &Vec<TaskObservation>,
        status: &EcsTaskStatus,
        _timing: Timing,
    ) -> CleanupPlan<Self> {
        plan::cleanup_plan(
            object.spec.stop_on_delete != Some(false),
            status.cluster_arn.as_deref(),
            observed,
            status,
        )
    }
}
