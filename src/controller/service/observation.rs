//! What a DescribeServices answer says, in the status and as health: the rollout's progress and
//! deadline, the figures recorded in status, the ECS service events to publish, and whether a
//! service is settled enough to be read from the read-ahead cache. Pure.

use super::plan::{Desired, Health, Note, Observed, short};
use crate::api::service::{
    DeploymentControllerType, DeploymentStrategy, EcsServiceStatus, TaskSetStatus,
};
use crate::aws::types::{
    DeploymentStatus, RolloutState, ServiceDeploymentStatus, ServiceObservation,
};

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
            .take(10)
            .collect(),
    };
    fresh
        .into_iter()
        .rev()
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
