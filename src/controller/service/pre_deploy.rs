//! The pre-deploy gate (`spec.preDeploy`): a CreateService, or an UpdateService that rolls out a
//! new task definition, waits until the revision's pre-deploy EcsTask (owned by the EcsService,
//! one per revision and run spec) exited 0; a failed run stops the rollout. Pure.

use super::plan::{Health, Note, Plan, Step};
use crate::api::EcsTask;
use crate::api::task::TaskPhase;

/// The pre-deploy run of the revision the spec asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct PreDeployRun {
    /// The EcsTask to create (named, namespaced, owned by the EcsService).
    pub task: EcsTask,
    /// The task definition the rollout sends (what the run comes before).
    pub target: String,
}

impl PreDeployRun {
    /// The EcsTask's name.
    pub fn name(&self) -> &str {
        self.task.metadata.name.as_deref().unwrap_or_default()
    }
}

/// Whether `task` is a run owned by the EcsService of UID `uid`.
pub fn owned_by(task: &EcsTask, uid: &str) -> bool {
    task.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "EcsService" && o.uid == uid)
}

/// Whether a run is still pending or running (neither finished nor stuck).
pub fn running(task: &EcsTask) -> bool {
    let status = task.status.as_ref();
    let finished = status
        .and_then(|s| s.phase)
        .is_some_and(|p| matches!(p, TaskPhase::Succeeded | TaskPhase::Failed));
    !finished && stalled(task).is_none()
}

/// The run's Stalled condition message, when it is Stalled.
fn stalled(task: &EcsTask) -> Option<String> {
    task.status.as_ref().and_then(|s| {
        s.reconcile
            .conditions
            .iter()
            .find(|c| c.type_ == "Stalled" && c.status == "True")
            .map(|c| c.message.clone())
    })
}

/// Holds the rollout in `decided` (a create, or an update sending the target revision) until
/// the target revision's run succeeded: returns the EcsTask to create, if any. `found` is the
/// run of the target revision, `other` another run of the service still going. While held, the
/// rest of an update (a desired count, drift) is still sent, unless it must force a new
/// deployment.
pub fn gate(
    decided: &mut Plan,
    run: Option<&PreDeployRun>,
    found: Option<&EcsTask>,
    other: Option<&str>,
    current_force_token: Option<&str>,
) -> Option<EcsTask> {
    let sent = match &decided.step {
        Step::Update(update) => update.task_definition.as_deref(),
        Step::Create(create) => create.task_definition.as_deref(),
        _ => None,
    };
    let run = run?;
    if sent != Some(run.target.as_str()) {
        return None;
    }
    let name = run.name().to_owned();
    let target = super::plan::short(&run.target);
    let phase = found.and_then(|t| t.status.as_ref()).and_then(|s| s.phase);
    if phase == Some(TaskPhase::Succeeded) {
        // It ran: the rollout goes ahead.
        decided.status.pre_deploy_task = Some(name);
        return None;
    }
    hold(decided, current_force_token);
    let Some(task) = found else {
        if let Some(other) = other {
            decided.health = Health::Progressing {
                reason: "PreDeploying",
                message: format!(
                    "waiting for the earlier pre-deploy task {other} to finish before running one for {target}: two runs never overlap"
                ),
            };
            return None;
        }
        decided.health = Health::Progressing {
            reason: "PreDeploying",
            message: format!("running the pre-deploy task {name} before rolling out {target}"),
        };
        return Some(run.task.clone());
    };
    let previous = decided.status.pre_deploy_task.replace(name.clone());
    // Failed, or stuck before it could run (RunTask refused, a task definition missing): either
    // way the rollout needs a person.
    let stuck = stalled(task);
    if phase == Some(TaskPhase::Failed) || stuck.is_some() {
        let message = format!(
            "the pre-deploy task {name} (spec.preDeploy) failed, so {target} is not rolled out: {}; fix it and change spec.preDeploy or the task definition (or delete the EcsTask {name}) to run it again",
            stuck.unwrap_or_default()
        );
        let already = previous.as_deref() == Some(name.as_str())
            && decided.status.reconcile.conditions.iter().any(|c| {
                c.type_ == "Stalled" && c.status == "True" && c.reason == "PreDeployFailed"
            });
        if !already {
            decided.notes.push(Note {
                warning: true,
                reason: "PreDeployFailed",
                message: message.clone(),
            });
        }
        decided.health = Health::Stalled {
            reason: "PreDeployFailed",
            message,
        };
        return None;
    }
    decided.health = Health::Progressing {
        reason: "PreDeploying",
        message: format!(
            "waiting for the pre-deploy task {name} ({}) before rolling out {target}",
            phase.map_or("Pending".to_owned(), |p| p.to_string())
        ),
    };
    None
}

/// Takes the rollout (the task definition, a forced deployment) out of the update; what is
/// left is still sent, unless ECS needs it to force a new deployment (a capacity provider
/// strategy change). What the update records follows: the task definition and the force token
/// are not recorded as sent.
fn hold(decided: &mut Plan, current_force_token: Option<&str>) {
    let Step::Update(update) = &mut decided.step else {
        // A create: nothing of it is sent, nothing recorded.
        decided.step = Step::Nothing;
        decided.record = None;
        return;
    };
    update.task_definition = None;
    update.force_new_deployment = None;
    let must_force = update.capacity_provider_strategy.is_some();
    if must_force || update.is_empty() {
        decided.step = Step::Nothing;
    }
    let sending = !matches!(decided.step, Step::Nothing);
    if let Some(record) = decided.record.as_mut() {
        record.desired_task_definition_arn = None;
        record.force_token = current_force_token.map(str::to_owned);
        if !sending && record.adopted_arn.is_none() {
            decided.record = None;
        }
    }
}

#[cfg(test)]
mod tests;
