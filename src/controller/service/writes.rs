//! The EcsService pass as the pipeline runs it: the plan's step and retag as writes, what each
//! write records once ECS accepted it, and the deletion's plan. Pure; unit-tested in
//! `plan/tests.rs`.

use std::time::Duration;

use super::plan::{Applied, Desired, Health, Observed, Step, plan, progress_poll, short};
use crate::api::service::EcsServiceStatus;
use crate::aws::types::{ServiceObservation, ServiceStatus};
use crate::controller::error::ReconcileError;
use crate::controller::pipeline::{Cleanup, Note as PipelineNote, Progress, Timing};
use crate::translate::service::{CreateServiceRequest, UpdateServiceRequest};
use crate::translate::tags::{self, TagChange};

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
        /// The markers recorded once both calls succeeded (adoption with nothing to update).
        record: Option<Applied>,
    },
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
    let decided = plan(desired, observed, current);
    let cluster = desired.create.cluster.clone();
    let name = desired.create.service_name.clone();
    let mut record = decided.record;
    let mut writes = Vec::new();
    let mut outcome_override = None;
    // The create token is in the status this pass writes (no AWS call): a crash between the
    // create and its status write cannot lose it. The create follows on the write's echo.
    let recording_token = matches!(decided.step, Step::RecordToken(_));
    match decided.step {
        Step::RecordToken(_) => {}
        Step::Create(request) => writes.push(Write::Create {
            request,
            record: record.take(),
        }),
        Step::Update(request) => writes.push(Write::Update {
            request,
            record: record.take(),
        }),
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
    let poll = timing.poll;
    let writes_deployment = writes
        .iter()
        .any(|w| matches!(w, Write::Create { .. } | Write::Update { .. }));
    let outcome = outcome_override.unwrap_or_else(|| {
        Ok(match decided.health {
            Health::Ready(message) => Progress::Ready {
                reason: "RolloutComplete".into(),
                message,
            },
            Health::Progressing { reason, message } => Progress::Progressing {
                reason: reason.into(),
                message,
                requeue: if recording_token {
                    Duration::from_millis(100)
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
        (Write::Unfollow { .. }, _) => {}
    }
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
            let ours = status.service_arn.as_deref() == Some(s.arn.as_str())
                || tags::is_owned_by(&s.tags, uid);
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
