//! The pre-deploy gate (`spec.preDeploy`): an UpdateService that rolls out a new task definition
//! waits until the revision's pre-deploy EcsTask (owned by the EcsService, one per revision and
//! pre-deploy spec) exited 0; a failed run stops the rollout. Pure.

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

/// What the gate decides besides the plan's changes: the EcsTask to create, if any.
pub fn gate(
    decided: &mut Plan,
    run: Option<&PreDeployRun>,
    found: Option<&EcsTask>,
) -> Option<EcsTask> {
    let Step::Update(update) = &decided.step else {
        return None;
    };
    let run = run?;
    if update.task_definition.as_deref() != Some(run.target.as_str()) {
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
    // Hold the update (and what it would record) until the run succeeded.
    decided.step = Step::Nothing;
    decided.record = None;
    let Some(task) = found else {
        decided.health = Health::Progressing {
            reason: "PreDeploying",
            message: format!("running the pre-deploy task {name} before rolling out {target}"),
        };
        return Some(run.task.clone());
    };
    decided.status.pre_deploy_task = Some(name.clone());
    // Failed, or stuck before it could run (RunTask refused, a task definition missing): either
    // way the rollout needs a person.
    let stalled = task.status.as_ref().and_then(|s| {
        s.reconcile
            .conditions
            .iter()
            .find(|c| c.type_ == "Stalled" && c.status == "True")
    });
    if phase == Some(TaskPhase::Failed) || stalled.is_some() {
        let outcome = stalled.map(|c| c.message.clone()).unwrap_or_default();
        let message = format!(
            "the pre-deploy task {name} (spec.preDeploy) failed, so {target} is not rolled out: {outcome}; fix it and change spec.preDeploy or the task definition to run it again"
        );
        let already =
            decided.status.reconcile.conditions.iter().any(|c| {
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

#[cfg(test)]
mod tests;
