//! Deployment control of BLUE_GREEN, LINEAR and CANARY services: the service deployment ECS runs,
//! as status shows it (stage, traffic, hooks); the Events of its stage changes; the health it
//! gives (paused, progressing, failed at a hook); and the continue and rollback annotations, each
//! acted on once and only for the deployment it names. Pure.

use super::plan::{Health, Note};
use crate::api::service::{CurrentServiceDeployment, LifecycleHookRun};
use crate::aws::types::ServiceDeploymentObservation;

/// Names what to continue: `<deployment id>/<hook id>` one paused hook run (ECS gives each pause
/// its own id, so the next pause waits again), `<deployment id>` every pause of that deployment.
/// Either is acted on once, and naming the deployment means an annotation left in Git cannot
/// approve the next deployment.
pub const CONTINUE_ANNOTATION: &str = "ecs.operator.dev/continue-deployment";
/// Names the deployment to stop and roll back (StopServiceDeployment, ROLLBACK), once.
pub const ROLLBACK_ANNOTATION: &str = "ecs.operator.dev/rollback-deployment";

/// The statuses after which a service deployment changes no more.
const FINAL: [&str; 4] = [
    "SUCCESSFUL",
    "STOPPED",
    "ROLLBACK_SUCCESSFUL",
    "ROLLBACK_FAILED",
];

/// The statuses StopServiceDeployment acts on ("You can stop a deployment that is in any of the
/// following states: PENDING ... IN_PROGRESS"; the rest are on their way to a stop already).
const STOPPABLE: [&str; 2] = ["PENDING", "IN_PROGRESS"];

/// What the annotations ask of the current deployment, and where to say it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Control {
    /// `ecs.operator.dev/continue-deployment`.
    pub continue_id: Option<String>,
    /// `ecs.operator.dev/rollback-deployment`.
    pub rollback_id: Option<String>,
    /// The object's namespace and name, for the commands the messages show.
    pub namespace: String,
    /// The object's name.
    pub name: String,
}

/// A write the annotations ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// ContinueServiceDeployment (CONTINUE) of a paused hook.
    Continue {
        /// The service deployment.
        arn: String,
        /// The paused hook run.
        hook_id: String,
    },
    /// StopServiceDeployment (ROLLBACK).
    Rollback {
        /// The service deployment.
        arn: String,
    },
}

impl Action {
    /// The marker `status.deploymentActions` keeps once ECS accepted it.
    pub fn marker(&self) -> String {
        match self {
            Self::Continue { hook_id, .. } => format!("continue:{hook_id}"),
            Self::Rollback { arn } => format!("rollback:{}", id_of(arn)),
        }
    }
}

/// The id of a service deployment ARN (its last segment).
pub fn id_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The status view of an observed service deployment.
pub fn view(observed: &ServiceDeploymentObservation) -> CurrentServiceDeployment {
    CurrentServiceDeployment {
        id: observed.id().to_owned(),
        arn: observed.arn.clone(),
        status: observed.status.as_str().to_owned(),
        status_reason: observed.status_reason.clone(),
        lifecycle_stage: observed.lifecycle_stage.clone(),
        production_traffic_percent: observed.production_traffic_percent,
        test_traffic_percent: observed.test_traffic_percent,
        hooks: observed
            .hooks
            .iter()
            .map(|h| LifecycleHookRun {
                id: h.id.clone(),
                target_type: h.target_type.clone(),
                target_arn: h.target_arn.clone(),
                status: h.status.clone(),
                expires_at: h.expires_at,
            })
            .collect(),
    }
}

/// Whether a deployment as last seen changes no more (it need not be read again while ECS still
/// names it current).
pub fn is_final(deployment: &CurrentServiceDeployment) -> bool {
    FINAL.contains(&deployment.status.as_str())
}

/// The annotations' writes for `deployment`, leaving out what was already done. A rollback asked
/// for wins over a continue.
pub fn actions(
    control: &Control,
    deployment: &CurrentServiceDeployment,
    done: &[String],
) -> Vec<Action> {
    let named = |asked: &Option<String>| asked.as_deref().map(str::trim) == Some(&deployment.id);
    if named(&control.rollback_id) && STOPPABLE.contains(&deployment.status.as_str()) {
        let action = Action::Rollback {
            arn: deployment.arn.clone(),
        };
        return if done.contains(&action.marker()) {
            Vec::new()
        } else {
            vec![action]
        };
    }
    let continue_asked = control.continue_id.as_deref().map(str::trim);
    let (continue_deployment, continue_hook) = match continue_asked {
        Some(asked) => match asked.split_once('/') {
            Some((id, hook)) => (Some(id), Some(hook)),
            None => (Some(asked), None),
        },
        None => (None, None),
    };
    if continue_deployment == Some(deployment.id.as_str()) && deployment.status == "IN_PROGRESS" {
        return deployment
            .hooks
            .iter()
            .filter(|h| h.status == "AWAITING_ACTION")
            .filter(|h| continue_hook.is_none_or(|hook| hook == h.id))
            .map(|h| Action::Continue {
                arn: deployment.arn.clone(),
                hook_id: h.id.clone(),
            })
            .filter(|a| !done.contains(&a.marker()))
            .collect();
    }
    Vec::new()
}

/// The markers still about `deployment` (those of earlier deployments are dropped).
pub fn markers_of(deployment: &CurrentServiceDeployment, done: &[String]) -> Vec<String> {
    let hooks: Vec<String> = deployment
        .hooks
        .iter()
        .map(|h| format!("continue:{}", h.id))
        .collect();
    let rollback = format!("rollback:{}", deployment.id);
    done.iter()
        .filter(|m| **m == rollback || hooks.contains(m))
        .cloned()
        .collect()
}

/// The Events of what changed since the last look: a new deployment, a new stage, a hook that
/// now waits for approval, a failed hook.
pub fn notes(
    previous: Option<&CurrentServiceDeployment>,
    now: &CurrentServiceDeployment,
    control: &Control,
) -> Vec<Note> {
    let mut notes = Vec::new();
    let same = previous.filter(|p| p.arn == now.arn);
    let stage = now.lifecycle_stage.as_deref().unwrap_or("PENDING");
    if same.and_then(|p| p.lifecycle_stage.as_deref()) != now.lifecycle_stage.as_deref()
        || same.is_none()
    {
        notes.push(Note {
            warning: false,
            reason: "DeploymentStage",
            message: format!("deployment {}: {stage}{}", now.id, traffic(now)),
        });
    }
    for hook in &now.hooks {
        let before = same.and_then(|p| p.hooks.iter().find(|h| h.id == hook.id));
        if before.map(|h| h.status.as_str()) == Some(hook.status.as_str()) {
            continue;
        }
        match hook.status.as_str() {
            "AWAITING_ACTION" => notes.push(Note {
                warning: false,
                reason: "AwaitingApproval",
                message: paused_message(now, hook, control),
            }),
            "FAILED" | "TIMED_OUT" => notes.push(Note {
                warning: true,
                reason: "HookFailed",
                message: hook_failure(now, hook),
            }),
            _ => {}
        }
    }
    if same.is_some_and(|p| p.status != now.status) && FINAL.contains(&now.status.as_str()) {
        notes.push(Note {
            warning: now.status != "SUCCESSFUL",
            reason: "DeploymentFinished",
            message: format!(
                "deployment {} ended {}{}",
                now.id,
                now.status,
                now.status_reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
        });
    }
    notes
}

/// The health a deployment gives, or `None` when it finished successfully (the service's own
/// figures decide then). `progress` is the task count summary.
pub fn health(
    deployment: &CurrentServiceDeployment,
    control: &Control,
    done: &[String],
    progress: &str,
) -> Option<Health> {
    let stage = deployment.lifecycle_stage.as_deref().unwrap_or("PENDING");
    match deployment.status.as_str() {
        "SUCCESSFUL" => None,
        "PENDING" | "IN_PROGRESS" => {
            if let Some(hook) = deployment
                .hooks
                .iter()
                .find(|h| h.status == "AWAITING_ACTION")
            {
                return Some(Health::Progressing {
                    reason: "AwaitingApproval",
                    message: paused_message(deployment, hook, control),
                });
            }
            Some(Health::Progressing {
                reason: "Deploying",
                message: format!(
                    "{progress}; deployment {} {} at {stage}{}",
                    deployment.id,
                    deployment.status,
                    traffic(deployment)
                ),
            })
        }
        // Stopping or rolling back, or done so.
        _ => {
            let reason_text = deployment
                .status_reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            if let Some(hook) = deployment
                .hooks
                .iter()
                .find(|h| matches!(h.status.as_str(), "FAILED" | "TIMED_OUT"))
            {
                return Some(Health::Stalled {
                    reason: "HookFailed",
                    message: format!(
                        "{}; ECS {}{reason_text}; fix what the hook checks, then change the spec or the task definition",
                        hook_failure(deployment, hook),
                        deployment.status
                    ),
                });
            }
            if done.contains(&format!("rollback:{}", deployment.id)) {
                return Some(Health::Stalled {
                    reason: "RolledBack",
                    message: format!(
                        "deployment {} was rolled back as {ROLLBACK_ANNOTATION} asked; ECS {}{reason_text}; change the spec or the task definition to deploy again",
                        deployment.id, deployment.status
                    ),
                });
            }
            Some(Health::Stalled {
                reason: "RolloutFailed",
                message: format!(
                    "deployment {} ended {}{reason_text} at {stage}",
                    deployment.id, deployment.status
                ),
            })
        }
    }
}

/// " (40% of production traffic, test traffic on the new revision)", or nothing.
fn traffic(deployment: &CurrentServiceDeployment) -> String {
    let mut parts = Vec::new();
    if let Some(production) = deployment.production_traffic_percent {
        parts.push(format!("{production}% of production traffic"));
    }
    if let Some(test) = deployment.test_traffic_percent
        && test > 0.0
    {
        parts.push(format!("{test}% of test traffic"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({} on the new revision)", parts.join(", "))
    }
}

fn paused_message(
    deployment: &CurrentServiceDeployment,
    hook: &LifecycleHookRun,
    control: &Control,
) -> String {
    let stage = deployment.lifecycle_stage.as_deref().unwrap_or("PENDING");
    let target = format!(
        "kubectl annotate ecsservice {} -n {}",
        control.name, control.namespace
    );
    format!(
        "deployment {id} is paused at {stage} (hook {hook_id}){traffic}; to continue: {target} {CONTINUE_ANNOTATION}={id}/{hook_id} --overwrite; to roll back: {target} {ROLLBACK_ANNOTATION}={id} --overwrite",
        id = deployment.id,
        hook_id = hook.id,
        traffic = traffic(deployment),
    )
}

fn hook_failure(deployment: &CurrentServiceDeployment, hook: &LifecycleHookRun) -> String {
    let stage = deployment.lifecycle_stage.as_deref().unwrap_or("PENDING");
    let name = match &hook.target_arn {
        Some(arn) => arn.rsplit(':').next().unwrap_or(arn).to_owned(),
        None => hook.target_type.clone(),
    };
    let what = if hook.status == "TIMED_OUT" {
        "timed out"
    } else {
        "failed"
    };
    format!(
        "lifecycle hook {name} ({}) {what} in deployment {} at {stage}",
        hook.target_arn.as_deref().unwrap_or(&hook.id),
        deployment.id
    )
}

#[cfg(test)]
mod tests;
