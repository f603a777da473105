//! The EcsService pass as the pipeline runs it: the plan's step and retag as writes, what each
//! write records once ECS accepted it, and the deletion's plan. Pure; unit-tested in
//! `plan/tests.rs`.

use super::deployment::{self, Action};
use super::plan::{Applied, Desired, Health, Observed, Step, is_ours, plan, progress_poll, short};
use crate::api::service::EcsServiceStatus;
use crate::aws::types::{ServiceObservation, ServiceStatus};
use crate::controller::error::ReconcileError;
use crate::controller::pipeline::{Cleanup, Note as PipelineNote, Progress, Timing};
use crate::translate::service::{CreateServiceRequest, UpdateServiceRequest};
use crate::translate::tags::TagChange;

/// One AWS write of the EcsService pipeline, with what its commit records.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// CreateService.
    Create {
        /// The request.
        request: CreateServiceRequest,
        /// The markers recorded once ECS created it.
        record: Option<Applied>,
    },
    /// UpdateService.
    Update {
        /// The request.
        request: UpdateServiceRequest,
        /// The markers recorded once ECS accepted it.
        record: Option<Applied>,
    },
    /// DeleteService (force): to recreate after an immutable change, or the object's deletion.
    Delete {
        /// Cluster.
        cluster: String,
        /// Service name.
        name: String,
        /// Deleted to be created again (the status forgets it); a deletion keeps its ARN while it
        /// drains, so later passes still know it was ours.
        recreate: bool,
    },
    /// UntagResource then TagResource on the service.
    Retag {
        /// The service ARN.
        arn: String,
        /// The change.
        change: TagChange,
        /// The markers recorded once both calls succeeded: an adoption is recorded here, after any
        /// update before it, as only the owner tag makes the service ours.
        record: Option<Applied>,
    },
    /// ContinueServiceDeployment or StopServiceDeployment, as an annotation asked.
    Deployment(Action),
    /// Creates the pre-deploy EcsTask of the revision about to be rolled out.
    RunPreDeploy(Box<crate::api::EcsTask>),
    /// Stops reading the service ahead in batches (it is gone or no longer ours).
    Unfollow {
        /// Cluster.
        cluster: String,
        /// Service name.
        name: String,
    },
}

/// What AWS answered to a [`Write`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The service CreateService made.
    Created {
        /// Service ARN.
        arn: String,
        /// Cluster ARN.
        cluster_arn: String,
        /// When the answer came (seconds since the epoch).
        at: i64,
    },
    /// UpdateService accepted; the service deployment it started, when ECS reports one.
    Updated {
        /// `currentServiceDeployment` of the answer.
        service_deployment: Option<String>,
    },
    /// Accepted (or already done: a delete of a service that is gone).
    Done,
}

/// The pipeline's plan type of this kind.
pub type PipelinePlan = crate::controller::pipeline::Plan<EcsServiceStatus, Write, Progress>;

/// The pass as the pipeline runs it: the one step and the retag as writes, the markers on the
/// first write that sends them, the health as the outcome.
pub fn pipeline_plan(
    desired: &Desired,
    observed: &Observed,
    current: &EcsServiceStatus,
    timing: Timing,
) -> PipelinePlan {
    let mut decided = plan(desired, observed, current);
    let actions = deployment_control(&mut decided, desired, observed, current);
    let pre_deploy = super::pre_deploy::gate(
        &mut decided,
        desired.pre_deploy.as_ref(),
        observed.pre_deploy_task.as_ref(),
        observed.pre_deploy_running.as_deref(),
        current.applied_force_new_deployment.as_deref(),
    );
    let cluster = desired.create.cluster.clone();
    let name = desired.create.service_name.clone();
    let mut record = decided.record;
    // An adoption is recorded with the retag that puts our owner tags on the service, not with an
    // update before it: the owner tag is what says the service is ours (`is_ours`), so a status
    // naming it while the tag still names its old owner would disown it at the next pass. The
    // update still records what it sent (a failed retag must not make it send that again).
    let retags = decided.retag.is_some() && observed.service.is_some();
    let mut writes = Vec::new();
    let mut outcome_override = None;
    match decided.step {
        Step::Create(request) => writes.push(Write::Create {
            request,
            record: record.take(),
        }),
        Step::Update(request) => {
            let (sent, adoption) = match record.take() {
                Some(applied) if retags && applied.adopted_arn.is_some() => (
                    Some(Applied {
                        adopted_arn: None,
                        ..applied.clone()
                    }),
                    Some(applied),
                ),
                other => (other, None),
            };
            record = adoption;
            writes.push(Write::Update {
                request,
                record: sent,
            });
        }
        Step::Delete => writes.push(Write::Delete {
            cluster: cluster.clone(),
            name: name.clone(),
            recreate: true,
        }),
        Step::WaitDraining | Step::Nothing => {}
        Step::Blocked { reason, message } => {
            outcome_override = Some(Err(ReconcileError::blocked(reason, message)));
        }
    }
    if let (Some(change), Some(arn)) = (
        decided.retag,
        observed.service.as_ref().map(|s| s.arn.clone()),
    ) {
        writes.push(Write::Retag {
            arn,
            change,
            record: record.take(),
        });
    }
    writes.extend(actions.into_iter().map(Write::Deployment));
    writes.extend(pre_deploy.map(|task| Write::RunPreDeploy(Box::new(task))));
    let poll = timing.poll;
    let writes_deployment = writes.iter().any(|w| {
        matches!(
            w,
            Write::Create { .. }
                | Write::Update { .. }
                | Write::Deployment(_)
                | Write::RunPreDeploy(_)
        )
    });
    let outcome = outcome_override.unwrap_or_else(|| {
        Ok(match decided.health {
            Health::Ready(message) => Progress::Ready {
                reason: "RolloutComplete".into(),
                message,
            },
            Health::Progressing { reason, message } => Progress::Progressing {
                reason: reason.into(),
                message,
                requeue: if reason == "AwaitingApproval" {
                    // Waiting for a person (the annotation's edit starts a pass at once) or for
                    // the hook's timeout: no need to look often.
                    timing.resync
                } else if writes_deployment {
                    // A create or update has just started a deployment (or a scale change).
                    progress_poll(poll, Some(0))
                } else {
                    progress_poll(poll, decided.deployment_age)
                },
            },
            Health::Stalled { reason, message } => Progress::Stalled {
                reason: reason.into(),
                message,
                // A stuck rollout may still finish, another object's service may be draining:
                // look again soon. A rollback needs a new spec or task definition, which
                // triggers a pass.
                requeue: if matches!(reason, "ProgressDeadlineExceeded" | "AlreadyExists") {
                    poll.saturating_mul(6)
                } else {
                    timing.resync
                },
            },
        })
    });
    let mut pipeline = PipelinePlan::new(decided.status, writes, outcome);
    pipeline.notes = decided
        .notes
        .into_iter()
        .map(|n| {
            if n.warning {
                PipelineNote::warning(n.reason, n.message)
            } else {
                PipelineNote::normal(n.reason, n.message)
            }
        })
        .collect();
    pipeline
}

/// Records a write ECS accepted.
pub fn commit(
    write: Write,
    answer: Answer,
    status: &mut EcsServiceStatus,
    notes: &mut Vec<PipelineNote>,
) {
    match (write, answer) {
        (Write::Create { request, record }, answer) => {
            if let Answer::Created {
                arn,
                cluster_arn,
                at,
            } = answer
            {
                status.create_answered_at = Some(at);
                // Kept until the service is seen: a pass meanwhile waits for it under this
                // token instead of creating again.
                status.client_token.clone_from(&request.client_token);
                notes.push(PipelineNote::normal(
                    "Created",
                    match &request.task_definition {
                        Some(task_definition) => {
                            format!("created ECS service {arn} with {}", short(task_definition))
                        }
                        None => format!(
                            "created ECS service {arn} (EXTERNAL: its task sets are its deployer's)"
                        ),
                    },
                ));
                status.service_arn = Some(arn);
                status.cluster_arn = Some(cluster_arn);
            }
            if let Some(record) = record {
                record.record(status, notes);
            }
        }
        (Write::Update { request, record }, answer) => {
            if let Some(task_definition) = &request.task_definition {
                notes.push(PipelineNote::normal(
                    "Deploying",
                    format!("rolling {} to {}", request.service, short(task_definition)),
                ));
                status.service_deployment_arn = match answer {
                    Answer::Updated { service_deployment } => service_deployment,
                    _ => None,
                };
            }
            if let Some(record) = record {
                record.record(status, notes);
            }
        }
        (Write::Delete { recreate, .. }, _) => {
            if recreate {
                status.service_arn = None;
            }
        }
        (Write::Retag { record, .. }, _) => {
            if let Some(record) = record {
                record.record(status, notes);
            }
        }
        (Write::Deployment(action), _) => {
            let (reason, message) = match &action {
                Action::Continue { arn, hook_id } => (
                    "DeploymentContinued",
                    format!(
                        "continued deployment {} past the paused hook {hook_id}, as {} asked",
                        deployment::id_of(arn),
                        deployment::CONTINUE_ANNOTATION
                    ),
                ),
                Action::Rollback { arn } => (
                    "DeploymentRollbackRequested",
                    format!(
                        "asked ECS to stop deployment {} and roll back, as {} asked",
                        deployment::id_of(arn),
                        deployment::ROLLBACK_ANNOTATION
                    ),
                ),
            };
            notes.push(PipelineNote::normal(reason, message));
            let marker = action.marker();
            if !status.deployment_actions.contains(&marker) {
                status.deployment_actions.push(marker);
            }
        }
        (Write::RunPreDeploy(task), _) => {
            let name = task.metadata.name.clone().unwrap_or_default();
            notes.push(PipelineNote::normal(
                "PreDeployStarted",
                format!(
                    "created EcsTask {name} (spec.preDeploy); the rollout waits until it exits 0"
                ),
            ));
            status.pre_deploy_task = Some(name);
        }
        (Write::Unfollow { .. }, _) => {}
    }
}

/// The deployment view of a BLUE_GREEN, LINEAR or CANARY service this pass: the current service
/// deployment in status, the Events of its changes, its health when nothing else is sent, and
/// the writes the continue and rollback annotations ask for.
fn deployment_control(
    decided: &mut super::plan::Plan,
    desired: &Desired,
    observed: &Observed,
    current: &EcsServiceStatus,
) -> Vec<Action> {
    use crate::api::service::DeploymentStrategy;
    let Some(service) = &observed.service else {
        return Vec::new();
    };
    let strategy = desired.strategy();
    if strategy == DeploymentStrategy::Rolling {
        decided.status.deployment = None;
        decided.status.deployment_actions.clear();
        return Vec::new();
    }
    if !is_ours(decided.status.service_arn.as_deref(), service, &desired.uid) {
        return Vec::new();
    }
    // Read this pass, or (a final state is not read again) as last seen while ECS still names
    // it current, so its health holds from pass to pass.
    let view = match &observed.service_deployment {
        Some(observed_deployment) => deployment::view(observed_deployment),
        None => match &current.deployment {
            Some(last)
                if deployment::is_final(last)
                    && service.current_service_deployment.as_deref() == Some(&last.arn) =>
            {
                last.clone()
            }
            _ => return Vec::new(),
        },
    };
    let done = deployment::markers_of(&view, &current.deployment_actions);
    decided.notes.extend(deployment::notes(
        current.deployment.as_ref(),
        &view,
        &desired.control,
    ));
    let sending = !matches!(decided.step, Step::Nothing);
    let actions = if sending {
        Vec::new()
    } else {
        deployment::actions(&desired.control, &view, &done)
    };
    if !sending
        && let Some(health) =
            deployment::health(&view, &desired.control, &done, &task_progress(service))
    {
        // The deployment's view replaces the plan's progress. Of a stall the plan found (a
        // circuit-breaker rollback, a rollout past its deadline, a failed primary) it replaces
        // only what says more: a failed hook, a rollback asked for, a pause (paused time does
        // not count against the deadline).
        let keep_plan = matches!(&decided.health, Health::Stalled { .. })
            && !matches!(
                &health,
                Health::Stalled {
                    reason: "HookFailed" | "RolledBack",
                    ..
                } | Health::Progressing {
                    reason: "AwaitingApproval",
                    ..
                }
            );
        if !keep_plan {
            decided.health = health;
        }
    }
    if let Some(action) = actions.first() {
        // The answer to the annotation is news: look again as soon as after any write.
        decided.health = Health::Progressing {
            reason: "Deploying",
            message: match action {
                Action::Continue { .. } => format!("continuing deployment {}", view.id),
                Action::Rollback { .. } => format!("rolling back deployment {}", view.id),
            },
        };
    }
    decided.status.deployment_actions = done;
    decided.status.deployment = Some(view);
    actions
}

/// "2 of 3 tasks running, 1 pending".
fn task_progress(service: &ServiceObservation) -> String {
    format!(
        "{} of {} tasks running, {} pending",
        service.running_count, service.desired_count, service.pending_count
    )
}

/// What a deletion found: the deletion policy, and the service when it was read.
#[derive(Clone, Debug, PartialEq)]
pub struct CleanupObserved {
    /// `deletionPolicy: Retain`.
    pub retain: bool,
    /// Cluster.
    pub cluster: String,
    /// Service name.
    pub name: String,
    /// The object's UID (the owner tag's value).
    pub uid: String,
    /// The ECS service, when ECS knows one (not read when retaining).
    pub service: Option<ServiceObservation>,
}

/// The deletion: leave the service (Retain, or not ours), wait while it drains, delete it (force:
/// "allows you to delete a service even if it wasn't scaled down to zero tasks"), and stop
/// following it once it is gone.
pub fn cleanup_plan(
    observed: &CleanupObserved,
    status: &EcsServiceStatus,
    timing: Timing,
) -> crate::controller::pipeline::Plan<EcsServiceStatus, Write, Cleanup> {
    use crate::controller::pipeline::Plan as P;
    let CleanupObserved {
        cluster,
        name,
        uid,
        retain,
        service,
    } = observed;
    let unfollow = Write::Unfollow {
        cluster: cluster.clone(),
        name: name.clone(),
    };
    let waiting = |message: String| {
        Ok(Cleanup::Waiting {
            reason: "Deleting".into(),
            message,
            requeue: timing.poll,
        })
    };
    if *retain {
        return P::new(status.clone(), vec![unfollow], Ok(Cleanup::Done)).when_done(
            PipelineNote::normal(
                "Retained",
                format!("deletionPolicy is Retain: the ECS service {name} keeps running"),
            ),
        );
    }
    let gone = || {
        P::new(status.clone(), vec![unfollow.clone()], Ok(Cleanup::Done)).when_done(
            PipelineNote::normal("Deleted", format!("ECS service {name} is gone")),
        )
    };
    match service {
        None => gone(),
        Some(s) if s.status == ServiceStatus::Inactive => gone(),
        Some(s) if s.status == ServiceStatus::Draining => P::only(
            status.clone(),
            waiting(format!(
                "ECS service {name} is DRAINING; waiting until it is INACTIVE"
            )),
        ),
        Some(s) => {
            let ours = is_ours(status.service_arn.as_deref(), s, uid);
            if !ours {
                return P::new(status.clone(), vec![unfollow], Ok(Cleanup::Done)).note(
                    PipelineNote::normal(
                        "NotOwned",
                        format!(
                            "the ECS service {} was not created by this object; left alone",
                            s.arn
                        ),
                    ),
                );
            }
            P::new(
                status.clone(),
                vec![Write::Delete {
                    cluster: cluster.clone(),
                    name: name.clone(),
                    recreate: false,
                }],
                waiting(format!(
                    "ECS service {name} is deleting; waiting until it is INACTIVE"
                )),
            )
            .when_done(PipelineNote::normal(
                "Deleting",
                format!("deleted ECS service {name}; it drains"),
            ))
        }
    }
}
