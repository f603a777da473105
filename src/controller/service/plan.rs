//! The pure decisions of the EcsService controller: from the spec (its task definition resolved),
//! what DescribeServices shows and what the status recorded, the one step to take (record the
//! create token, create, wait for a draining namesake, update exactly what differs, recreate, or
//! stop and say why), the tag changes, the rollout's health, and the ECS events to publish. No I/O;
//! every case is unit-tested below.

use std::collections::BTreeMap;
use std::time::Duration;

use super::diff::{
    CODE_DEPLOY_UPDATABLE, EXTERNAL_UPDATABLE, changed_members, controller_change_allowed,
    member_hash, member_values, normalise_settings, update_with,
};
use super::observation::{clear_observation, record_observation, rollout};
pub use super::observation::{ecs_events, next_poll, settled, troubled};
use crate::api::ADOPT_ANNOTATION;
use crate::api::common::Tag;
use crate::api::service::DeploymentControllerType;
use crate::api::service::{EcsServiceStatus, ServiceSettings};
use crate::aws::types::{
    DeploymentStatus, RolloutState, ServiceDeploymentObservation, ServiceObservation, ServiceStatus,
};
use crate::controller::pipeline::Note as PipelineNote;
use crate::translate::service::{CreateServiceRequest, UpdateServiceRequest};
use crate::translate::tags::{self, TagChange};

/// The task definition the service must run, as the spec names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskDefinitionTarget {
    /// A full ARN (from a reference, a literal ARN, or a family resolved to its latest revision).
    Arn(String),
    /// `family:revision`: matches the ARN of that revision in any account and Region.
    FamilyRevision {
        /// Family.
        family: String,
        /// Revision number.
        revision: i32,
    },
}

impl TaskDefinitionTarget {
    /// Whether the task definition ARN ECS reports is this one.
    pub fn matches(&self, arn: &str) -> bool {
        match self {
            Self::Arn(wanted) => wanted == arn,
            Self::FamilyRevision { family, revision } => {
                crate::translate::task_definition::family_of_arn(arn) == Some(family.as_str())
                    && crate::translate::task_definition::revision_of_arn(arn) == *revision
            }
        }
    }

    /// What to send in CreateService / UpdateService.
    pub fn reference(&self) -> String {
        match self {
            Self::Arn(arn) => arn.clone(),
            Self::FamilyRevision { family, revision } => format!("{family}:{revision}"),
        }
    }
}

/// What the spec asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    /// The complete CreateService request (ownership tags in, desired count for creation set).
    pub create: CreateServiceRequest,
    /// The task definition to run (`None` for an EXTERNAL service: its task sets name theirs).
    pub target: Option<TaskDefinitionTarget>,
    /// The user's tags.
    pub user_tags: Vec<Tag>,
    /// The operator's ownership tags.
    pub owner_tags: Vec<Tag>,
    /// `spec.desiredCount`.
    pub spec_desired_count: Option<i32>,
    /// An EcsScalingPolicy owns the desired count.
    pub autoscaled: bool,
    /// `spec.forceNewDeployment`.
    pub force_token: Option<String>,
    /// `spec.recreateOnImmutableChange`.
    pub recreate: bool,
    /// `spec.progressDeadlineSeconds` (default 600).
    pub progress_deadline: Duration,
    /// The object's UID (the owner tag's value).
    pub uid: String,
    /// The `ecs.operator.dev/adopt: "true"` annotation.
    pub adopt: crate::translate::tags::Adoption,
    /// The idempotency token a create of this generation uses.
    pub client_token: String,
    /// The continue and rollback annotations, and the object's name for the commands shown.
    pub control: super::deployment::Control,
    /// The pre-deploy run of the target revision (`spec.preDeploy`).
    pub pre_deploy: Option<super::pre_deploy::PreDeployRun>,
    /// `status.selector`: the label selector the `/scale` subresource reports, which the
    /// HorizontalPodAutoscaler (and so KEDA) requires before it scales anything.
    pub scale_selector: String,
}

impl Desired {
    /// The deployment strategy the spec asks for (ROLLING when it names none).
    pub fn strategy(&self) -> crate::api::service::DeploymentStrategy {
        self.create
            .settings
            .deployment_configuration
            .as_ref()
            .and_then(|c| c.strategy)
            .unwrap_or(crate::api::service::DeploymentStrategy::Rolling)
    }
}

/// What the observe step found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// The ECS service, when ECS knows one of that name.
    pub service: Option<ServiceObservation>,
    /// The current service deployment with its stage, hooks and traffic (only read for
    /// BLUE_GREEN, LINEAR and CANARY strategies, while one runs).
    pub service_deployment: Option<ServiceDeploymentObservation>,
    /// The lifecycle of the current deployment was seen finished before (not read again).
    pub lifecycle_done: bool,
    /// Adopting: another live EcsService the service's owner tags name (`namespace/name`).
    pub other_owner: Option<String>,
    /// The service deployment that rolled back the task definition sent (read only when ECS
    /// runs another one, see [`rollback_in_question`]).
    pub rolled_back: Option<ServiceDeploymentObservation>,
    /// The service's tasks that stopped unexpectedly, as ECS still reports them (read only
    /// while it is troubled: see [`troubled`]).
    pub stopped_tasks: Vec<crate::aws::types::TaskObservation>,
    /// The pre-deploy EcsTask of the target revision, when it exists (only looked up with
    /// `spec.preDeploy`).
    pub pre_deploy_task: Option<crate::api::EcsTask>,
    /// Another pre-deploy EcsTask of this service still pending or running, by name.
    pub pre_deploy_running: Option<String>,
    /// Now, in seconds since the epoch.
    pub now: i64,
}

/// The one AWS step of a pass.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// CreateService.
    Create(CreateServiceRequest),
    /// A same-named service is DRAINING; ECS refuses a create until it is INACTIVE.
    WaitDraining,
    /// DeleteService (force) to recreate after an immutable change.
    Delete,
    /// UpdateService.
    Update(UpdateServiceRequest),
    /// Progress needs a human.
    Blocked {
        /// CamelCase reason.
        reason: &'static str,
        /// What is wrong and what to do.
        message: String,
    },
    /// Nothing to change.
    Nothing,
}

/// The markers of what was sent to ECS, recorded in status only after AWS accepted the write
/// that sent them (a failed UpdateService must be sent again, not remembered as done).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The task definition sent (`status.desiredTaskDefinitionArn`), if it is to be recorded.
    pub desired_task_definition_arn: Option<String>,
    /// The `forceNewDeployment` token honoured.
    pub force_token: Option<String>,
    /// The hash of every member sent.
    pub settings: BTreeMap<String, String>,
    /// The ARN of a service being adopted: recorded as ours once the adoption's writes succeeded.
    pub adopted_arn: Option<String>,
}

impl Applied {
    /// Everything the spec asks for, as sent.
    fn of(desired: &Desired, adopted_arn: Option<String>) -> Self {
        Self {
            desired_task_definition_arn: desired
                .target
                .as_ref()
                .map(TaskDefinitionTarget::reference),
            force_token: desired.force_token.clone(),
            settings: applied(&desired.create.settings),
            adopted_arn,
        }
    }

    /// Writes the markers into `status`; an adoption's with its Event.
    pub fn record(self, status: &mut EcsServiceStatus, notes: &mut Vec<PipelineNote>) {
        if let Some(arn) = self.desired_task_definition_arn {
            status.desired_task_definition_arn = Some(arn);
        }
        status.applied_force_new_deployment = self.force_token;
        status.applied_settings = self.settings;
        if let Some(arn) = self.adopted_arn {
            notes.push(PipelineNote::normal(
                "Adopted",
                format!("took over the existing ECS service {arn}"),
            ));
            status.service_arn = Some(arn);
        }
    }
}

/// Where the service stands after the step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Ready.
    Ready(String),
    /// Work in progress, look again soon.
    Progressing {
        /// CamelCase reason.
        reason: &'static str,
        /// Progress for people.
        message: String,
    },
    /// Stalled: the rollout failed, was rolled back or missed its deadline.
    Stalled {
        /// CamelCase reason.
        reason: &'static str,
        /// What happened.
        message: String,
    },
}

/// An Event to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// Warning (true) or Normal.
    pub warning: bool,
    /// CamelCase reason.
    pub reason: &'static str,
    /// The message.
    pub message: String,
}

/// Everything one pass does.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The AWS step.
    pub step: Step,
    /// Tag changes on the service (user tags, plus the owner tags on adoption).
    pub retag: Option<TagChange>,
    /// What the step (or, with no step, the retag) records once AWS accepted it.
    pub record: Option<Applied>,
    /// The health after the step.
    pub health: Health,
    /// Events to publish.
    pub notes: Vec<Note>,
    /// The status to write (all fields the plan decides).
    pub status: EcsServiceStatus,
    /// Seconds since the PRIMARY deployment started, when one was observed: a young rollout is
    /// looked at sooner (see [`progress_poll`]).
    pub deployment_age: Option<i64>,
}

/// Whether the ECS service `service` is the object's: its owner tag decides when it has one. A
/// service ARN names only the cluster and the service, so it repeats from one incarnation to the
/// next: a namesake another object created after ours was deleted has the ARN we recorded, and
/// only its owner tag tells it apart. The recorded ARN decides only for a service without an
/// owner tag (one whose tag was removed, or created before the operator tagged).
pub fn is_ours(recorded_arn: Option<&str>, service: &ServiceObservation, uid: &str) -> bool {
    match tags::value(&service.tags, tags::OWNER_UID) {
        Some(owner) => owner == uid,
        None => recorded_arn == Some(service.arn.as_str()),
    }
}

/// When to look again at a service in progress: a quarter of the time its deployment has run so
/// far, between one second and `poll`. A rollout that finishes in seconds (a scale change, a
/// small service) is seen finished within about a second, one of minutes costs a few extra
/// (batched) reads at its start and then one per `poll`. `None` (no deployment seen) is `poll`.
pub fn progress_poll(poll: Duration, deployment_age: Option<i64>) -> Duration {
    let Some(age) = deployment_age else {
        return poll;
    };
    let quarter = Duration::from_secs(u64::try_from(age.max(0)).unwrap_or(0)) / 4;
    quarter.clamp(Duration::from_secs(1).min(poll), poll)
}

/// The plan for one pass.
pub fn plan(desired: &Desired, observed: &Observed, current: &EcsServiceStatus) -> Plan {
    let mut status = current.clone();
    status.autoscaled = Some(desired.autoscaled);
    status.selector = Some(desired.scale_selector.clone());
    let mut notes = Vec::new();
    let service = observed
        .service
        .as_ref()
        .filter(|s| s.status != ServiceStatus::Inactive);
    let Some(service) = service else {
        // Created a moment ago and not listed yet: DescribeServices is eventually consistent.
        // Waiting (looking again after a quarter of the time since, at most `poll`) beats
        // creating again: a second CreateService after a spec change would be "not idempotent".
        // An INACTIVE namesake whose deployments all started before our create was answered is
        // the service it replaced (their ARNs are the same), seen by a describe sent before
        // the new one was listed: not ours gone.
        let unseen = match &observed.service {
            None => true,
            Some(seen) => current.create_answered_at.is_some_and(|answered| {
                seen.status == ServiceStatus::Inactive
                    && seen
                        .deployments
                        .iter()
                        .filter_map(|d| d.created_at)
                        .max()
                        .is_none_or(|started| started < answered)
            }),
        };
        if let (Some(arn), Some(_), Some(answered)) = (
            &current.service_arn,
            &current.client_token,
            current.create_answered_at,
        ) && unseen
        {
            let age = observed.now.saturating_sub(answered);
            if age < CREATE_VISIBILITY_GRACE_SECONDS {
                return Plan {
                    step: Step::Nothing,
                    retag: None,
                    record: None,
                    health: Health::Progressing {
                        reason: "WaitingForService",
                        message: format!(
                            "ECS created {arn} {age}s ago and does not list it yet; waiting for it rather than creating it again"
                        ),
                    },
                    notes,
                    status,
                    deployment_age: Some(age),
                };
            }
        }
        // No ECS service (or only an INACTIVE one): create. The token is the object's UID and
        // generation; after one of ours is gone, also that service's ARN and when it was made
        // (its newest deployment, or when our create was answered: an ARN names only the
        // cluster and service, so it repeats from one incarnation to the next). A pass after a
        // crash sends the same one; a token an older operator recorded is used as it is. Commit
        // records it once AWS answered.
        let incarnation = observed
            .service
            .as_ref()
            .and_then(|gone| gone.deployments.iter().filter_map(|d| d.created_at).max())
            .or(current.create_answered_at)
            .unwrap_or(0);
        if current.create_answered_at.is_some() {
            // The service created before is gone for good (or never showed): a new token.
            status.client_token = None;
            status.create_answered_at = None;
        }
        let token = match (&status.client_token, &current.service_arn) {
            (Some(recorded), _) => recorded.clone(),
            (None, Some(previous)) => {
                let token = recreation_token(&desired.client_token, previous, incarnation);
                // Kept with this pass's status whatever the create's outcome: the ARN it derives
                // from is cleared below, and a pass after a failed create must not fall back to
                // the first creation's token.
                status.client_token = Some(token.clone());
                token
            }
            (None, None) => desired.client_token.clone(),
        };
        clear_observation(&mut status);
        let mut request = desired.create.clone();
        request.client_token = Some(token);
        let step = Step::Create(request);
        let health = Health::Progressing {
            reason: "Creating",
            message: format!(
                "creating ECS service {} in cluster {}",
                desired.create.service_name, desired.create.cluster
            ),
        };
        let record = Some(Applied::of(desired, None));
        return Plan {
            step,
            retag: None,
            record,
            health,
            notes,
            status,
            deployment_age: None,
        };
    };

    if service.status == ServiceStatus::Draining {
        let recreating = status.service_arn.as_deref() == Some(service.arn.as_str());
        return Plan {
            step: Step::WaitDraining,
            retag: None,
            record: None,
            health: Health::Progressing {
                reason: if recreating {
                    "Recreating"
                } else {
                    "WaitingForDrain"
                },
                message: format!(
                    "ECS service {} is DRAINING; it is created again once it is INACTIVE",
                    service.name
                ),
            },
            notes,
            status,
            deployment_age: None,
        };
    }

    // An ACTIVE service of that name: ours, adoptable, or someone else's.
    let ours = is_ours(status.service_arn.as_deref(), service, &desired.uid);
    if !ours
        && !desired
            .adopt
            .allows(tags::value(&service.tags, tags::OWNER))
    {
        if let Some(owner) = tags::value(&service.tags, tags::OWNER) {
            // Another EcsService owns it, maybe one being deleted right now: look again soon.
            // One of this very name (another UID) is this object's earlier life: another cluster,
            // a backup restore.
            let message = if tags::value(&desired.owner_tags, tags::OWNER) == Some(owner) {
                format!(
                    "the ECS service {} in cluster {} was created by an earlier EcsService {owner} (same name, another UID: another cluster, or before a restore); annotate this object with {ADOPT_ANNOTATION}: {} to take it over, or rename this service (spec.serviceName)",
                    service.name,
                    desired.create.cluster,
                    tags::ADOPT_SAME_OWNER
                )
            } else {
                format!(
                    "the ECS service {} in cluster {} belongs to EcsService {owner}; delete that object (its service drains, then this one is created) or rename this service (spec.serviceName)",
                    service.name, desired.create.cluster
                )
            };
            return Plan {
                step: Step::Nothing,
                retag: None,
                record: None,
                health: Health::Stalled {
                    reason: "AlreadyExists",
                    message,
                },
                notes,
                status,
                deployment_age: None,
            };
        }
        return blocked(
            status,
            "AlreadyExists",
            format!(
                "an ECS service named {} already exists in cluster {} and was not created by this object; \
                 delete it, rename this service (spec.serviceName), or annotate this object with {ADOPT_ANNOTATION}: \"true\" to take it over",
                service.name, desired.create.cluster
            ),
        );
    }
    if !ours && let Some(other) = &observed.other_owner {
        return blocked(
            status,
            "OwnedByAnother",
            format!(
                "the ECS service {} in cluster {} is managed by EcsService {other}, which still exists; two objects managing one service would undo (and could delete) each other's work: delete that object first (with deletionPolicy: Retain to keep the service running), then this one adopts it",
                service.name, desired.create.cluster
            ),
        );
    }
    let adopting = !ours;
    record_observation(&mut status, service);
    status.create_answered_at = None;
    if adopting {
        // Ours only once the adoption's writes succeeded (the `Adopted` Event comes with them):
        // a blocked or failed adoption must not record someone else's service as ours.
        status.service_arn = current.service_arn.clone();
    }
    status.client_token = None;

    let desired_values = member_values(&desired.create.settings);
    let observed_values = member_values(&service.settings);

    // Members UpdateService cannot change.
    if let Some((member, want, have)) =
        immutable_change(&desired.create.settings, &service.settings)
    {
        if desired.recreate {
            notes.push(Note {
                warning: true,
                reason: "Recreating",
                message: format!(
                    "spec.{member} changed from {have} to {want}, which ECS cannot change in place: deleting the ECS service to create it again (recreateOnImmutableChange)"
                ),
            });
            return Plan {
                step: Step::Delete,
                retag: None,
                record: None,
                health: Health::Progressing {
                    reason: "Recreating",
                    message: format!("recreating the ECS service for the new {member}"),
                },
                notes,
                status,
                deployment_age: None,
            };
        }
        return blocked(
            status,
            "ImmutableField",
            format!(
                "spec.{member} changed from {have} to {want}, which ECS cannot change on an existing service; \
                 set it back, or set spec.recreateOnImmutableChange: true to delete and recreate the service (its tasks stop)"
            ),
        );
    }

    let controller = service
        .settings
        .deployment_controller
        .as_ref()
        .map_or("ECS", |c| c.r#type.as_str());
    // Adopting: the spec counts as applied, so only members ECS reports exactly are corrected (a
    // Service Connect namespace reported as an ARN must not start a deployment).
    let applied_before = if adopting {
        applied(&desired.create.settings)
    } else {
        status.applied_settings.clone()
    };
    let mut members = changed_members(&desired_values, &observed_values, &applied_before);
    let allowed: Option<&[&str]> = match controller {
        "CODE_DEPLOY" => Some(&CODE_DEPLOY_UPDATABLE),
        "EXTERNAL" => Some(&EXTERNAL_UPDATABLE),
        _ => None,
    };
    if let Some(allowed) = allowed
        && let Some(member) = members.iter().find(|m| !allowed.contains(m))
    {
        return blocked(
            status,
            "NotUpdatable",
            format!(
                "spec.{member}: a service with the {controller} deployment controller cannot change it through UpdateService; \
                 make the change through {}",
                if controller == "CODE_DEPLOY" {
                    "CodeDeploy"
                } else {
                    "a new task set"
                }
            ),
        );
    }

    // The task definition: deploy the desired one unless it already failed or rolled back.
    let primary = service
        .deployments
        .iter()
        .find(|d| d.status == DeploymentStatus::Primary)
        .or(service.deployments.first());
    let primary_td = primary.map_or(service.task_definition.as_str(), |d| {
        d.task_definition.as_str()
    });
    // EXTERNAL services have no task definition of their own: nothing of this applies.
    let wanted = desired
        .target
        .as_ref()
        .map(TaskDefinitionTarget::reference)
        .unwrap_or_default();
    let mut send_task_definition = false;
    if status.failed_task_definition_arn.as_deref() != Some(wanted.as_str()) {
        status.failed_task_definition_arn = None;
    }
    let sent = status.desired_task_definition_arn.as_deref() == Some(wanted.as_str());
    if !runs_target(desired, primary_td) {
        // Rolled back: we sent this revision and ECS went back to another one. The service
        // deployment UpdateService started ends ROLLBACK_* (any strategy; it stays listed after
        // the rollback is over, whenever the operator looks), or, while the rollback runs, a
        // FAILED deployment of it is still listed. No reading of ECS's texts.
        let rolled_back = sent
            && (observed.rolled_back.is_some()
                || service.deployments.iter().any(|d| {
                    runs_target(desired, &d.task_definition)
                        && d.rollout_state == Some(RolloutState::Failed)
                })
                || observed
                    .service_deployment
                    .as_ref()
                    .is_some_and(|d| d.status.is_rollback()));
        if status.failed_task_definition_arn.as_deref() == Some(wanted.as_str()) || rolled_back {
            if status.failed_task_definition_arn.is_none() {
                notes.push(Note {
                    warning: true,
                    reason: "RolledBack",
                    message: format!(
                        "the deployment of {wanted} failed and ECS rolled back to {primary_td}; it is not deployed again until the spec or the task definition changes"
                    ),
                });
            }
            status.failed_task_definition_arn = Some(wanted.clone());
        } else if controller == "ECS" {
            send_task_definition = true;
        } else {
            return blocked(
                status,
                "NotUpdatable",
                format!(
                    "spec.taskDefinition: a {controller} service deploys {wanted} through {}, not UpdateService",
                    if controller == "CODE_DEPLOY" {
                        "CodeDeploy"
                    } else {
                        "a new task set"
                    }
                ),
            );
        }
    } else if primary.is_some_and(|d| d.rollout_state == Some(RolloutState::Failed)) {
        status.failed_task_definition_arn = Some(wanted.clone());
    } else {
        // The desired revision runs: whatever failed before is over.
        status.failed_task_definition_arn = None;
    }

    // The desired count: the spec's, unless an autoscaler owns it (never sent after creation).
    let send_desired_count = match (desired.spec_desired_count, desired.autoscaled) {
        (Some(count), false) if count != service.desired_count => {
            // Drift when the count was right at the last look (someone scaled behind our back).
            let drift = current.desired_count == Some(count);
            notes.push(Note {
                warning: drift,
                reason: if drift {
                    "DesiredCountDrift"
                } else {
                    "Scaling"
                },
                message: format!(
                    "desiredCount is {} in ECS; set to {count} as the spec says",
                    service.desired_count
                ),
            });
            Some(count)
        }
        _ => None,
    };

    let force_token_changed =
        desired.force_token.is_some() && desired.force_token != status.applied_force_new_deployment;
    if force_token_changed && controller != "ECS" {
        return blocked(
            status,
            "NotUpdatable",
            format!(
                "spec.forceNewDeployment: a {controller} service starts deployments through {}, not UpdateService",
                if controller == "CODE_DEPLOY" {
                    "CodeDeploy"
                } else {
                    "a new task set"
                }
            ),
        );
    }
    // "When switching from launch type to capacity provider strategy on an existing service, or
    // making a change to a capacity provider strategy on a service that is already using one, you
    // must force a new deployment."
    let strategy_changed = members.contains(&"capacityProviderStrategy");
    for member in &members {
        if !adopting
            && status.applied_settings.get(*member).map(String::as_str)
                == desired_values.get(member).map(member_hash).as_deref()
        {
            notes.push(Note {
                warning: true,
                reason: "Drift",
                message: format!("{member} was changed outside the operator; set back to the spec"),
            });
        }
    }
    members.sort_unstable();
    let mut update = update_with(
        &desired.create.cluster,
        &desired.create.service_name,
        &desired_values,
        &members,
    );
    update.desired_count = send_desired_count;
    if send_task_definition {
        update.task_definition = Some(wanted.clone());
    }
    if force_token_changed || strategy_changed {
        update.force_new_deployment = Some(true);
    }

    let retag = {
        let change = tags::diff_with_owner(&desired.user_tags, &desired.owner_tags, &service.tags);
        (!change.is_empty()).then_some(change)
    };

    let (mut stopped_notes, last_stopped) = super::observation::stopped_task_notes(
        &observed.stopped_tasks,
        current.last_stopped_task.as_ref(),
    );
    notes.append(&mut stopped_notes);
    if last_stopped.is_some() {
        status.last_stopped_task = last_stopped;
    }
    let mut new_notes = ecs_events(service, current.last_event_id.as_deref());
    status.last_event_id = service
        .events
        .first()
        .map(|e| e.id.clone())
        .or(status.last_event_id);
    notes.append(&mut new_notes);

    let deploying = update.task_definition.is_some()
        || update.force_new_deployment == Some(true)
        || members.iter().any(|m| DEPLOYING.contains(m));
    let step = if update.is_empty() {
        Step::Nothing
    } else {
        Step::Update(update)
    };
    // What the writes record once AWS accepted them. Adopting, the service becomes ours (its ARN
    // recorded) only then, so an adoption whose writes fail is an adoption again next pass.
    let record = if adopting {
        status.service_arn = current.service_arn.clone();
        let mut record = Applied::of(desired, Some(service.arn.clone()));
        if matches!(step, Step::Nothing) && !runs_target(desired, primary_td) {
            record.desired_task_definition_arn = None;
        }
        Some(record)
    } else if matches!(step, Step::Update(_)) {
        Some(Applied::of(desired, None))
    } else {
        // Nothing to send: ECS holds the spec.
        status.applied_settings = applied(&desired.create.settings);
        if desired.target.is_some() && runs_target(desired, primary_td) {
            status.desired_task_definition_arn = Some(wanted.clone());
        }
        None
    };
    let health = if deploying {
        Health::Progressing {
            reason: "Deploying",
            message: format!("started a deployment of {}", short(&wanted)),
        }
    } else if matches!(step, Step::Update(_)) {
        Health::Progressing {
            reason: "Updating",
            message: "updated the ECS service; checking the result".into(),
        }
    } else if let Some(failed) = &status.failed_task_definition_arn {
        let rolled_back = !runs_target(desired, primary_td);
        Health::Stalled {
            reason: if rolled_back {
                "RolledBack"
            } else {
                "RolloutFailed"
            },
            message: if rolled_back {
                format!(
                    "the rollout of {} failed and ECS rolled back to {}; fix the image or the task definition",
                    short(failed),
                    short(primary_td)
                )
            } else {
                format!(
                    "the rollout of {} failed: {}",
                    short(failed),
                    primary
                        .and_then(|d| d.rollout_state_reason.clone())
                        .unwrap_or_default()
                )
            },
        }
    } else {
        rollout(desired, observed, service)
    };
    let deployment_age = service
        .deployments
        .iter()
        .find(|d| d.status == DeploymentStatus::Primary)
        .and_then(|d| d.created_at)
        .map(|started| observed.now.saturating_sub(started));
    Plan {
        step,
        retag,
        record,
        health,
        notes,
        status,
        deployment_age,
    }
}

/// Whether ECS runs another task definition than the one the operator sent and has not yet been
/// seen to roll back: then only the service deployments tell a rollback (never send the revision
/// again) from someone else's change (send it again).
pub fn rollback_in_question(
    desired: &Desired,
    status: &EcsServiceStatus,
    service: &ServiceObservation,
) -> bool {
    let ecs_controller = service
        .settings
        .deployment_controller
        .as_ref()
        .is_none_or(|c| c.r#type == DeploymentControllerType::Ecs);
    let Some(target) = &desired.target else {
        return false;
    };
    let wanted = target.reference();
    let primary_td = service
        .deployments
        .iter()
        .find(|d| d.status == DeploymentStatus::Primary)
        .or(service.deployments.first())
        .map_or(service.task_definition.as_str(), |d| {
            d.task_definition.as_str()
        });
    ecs_controller
        && service.status == ServiceStatus::Active
        && status.desired_task_definition_arn.as_deref() == Some(wanted.as_str())
        && status.failed_task_definition_arn.as_deref() != Some(wanted.as_str())
        && !target.matches(primary_td)
}

/// Whether ECS runs the task definition the spec asks for (an EXTERNAL service asks for none).
fn runs_target(desired: &Desired, task_definition: &str) -> bool {
    desired
        .target
        .as_ref()
        .is_none_or(|target| target.matches(task_definition))
}

/// The service deployment that rolled back the revision sent: the one UpdateService started
/// (`recorded`) when it ended ROLLBACK_*; without a record (a status written before the operator
/// recorded them), the newest service deployment when it is a rollback.
pub fn rollback_of(
    deployments: &[ServiceDeploymentObservation],
    recorded: Option<&str>,
) -> Option<ServiceDeploymentObservation> {
    let candidate = match recorded {
        Some(arn) => deployments.iter().find(|d| d.arn == arn),
        None => deployments.iter().max_by_key(|d| d.created_at),
    };
    candidate.filter(|d| d.status.is_rollback()).cloned()
}

/// UpdateService members that start a deployment ("This parameter triggers a new service
/// deployment.").
const DEPLOYING: [&str; 7] = [
    "networkConfiguration",
    "platformVersion",
    "loadBalancers",
    "serviceRegistries",
    "serviceConnectConfiguration",
    "volumeConfigurations",
    "vpcLatticeConfigurations",
];

/// How long a service CreateService made may stay unlisted before it counts as gone (a service
/// deleted since is listed INACTIVE for a while, so MISSING this soon is eventual consistency).
pub const CREATE_VISIBILITY_GRACE_SECONDS: i64 = 600;

/// The token of a creation that follows the service `previous`, made at `incarnation` (seconds
/// since the epoch), 32 hex characters.
fn recreation_token(base: &str, previous: &str, incarnation: i64) -> String {
    crate::translate::short_hash(format!("{base}:{previous}:{incarnation}").as_bytes(), 16)
}

/// The hash of every member as applied now.
fn applied(settings: &ServiceSettings) -> BTreeMap<String, String> {
    member_values(settings)
        .into_iter()
        .map(|(member, value)| (member.to_owned(), member_hash(&value)))
        .collect()
}

fn blocked(status: EcsServiceStatus, reason: &'static str, message: String) -> Plan {
    Plan {
        step: Step::Blocked {
            reason,
            message: message.clone(),
        },
        retag: None,
        record: None,
        health: Health::Stalled { reason, message },
        notes: Vec::new(),
        status,
        deployment_age: None,
    }
}

/// The first member ECS cannot change that differs: (member, wanted, observed), for people.
fn immutable_change(
    desired: &ServiceSettings,
    observed: &ServiceSettings,
) -> Option<(&'static str, String, String)> {
    let (want, have) = (normalise_settings(desired), normalise_settings(observed));
    if let (Some(w), Some(h)) = (want.launch_type, have.launch_type)
        && w != h
    {
        return Some(("launchType", w.to_string(), h.to_string()));
    }
    if want.scheduling_strategy != have.scheduling_strategy {
        return Some((
            "schedulingStrategy",
            display(&want.scheduling_strategy),
            display(&have.scheduling_strategy),
        ));
    }
    let controller = |s: &ServiceSettings| {
        s.deployment_controller
            .as_ref()
            .map_or(DeploymentControllerType::Ecs, |c| c.r#type)
    };
    if !controller_change_allowed(controller(&have), controller(&want)) {
        return Some((
            "deploymentController",
            controller(&want).to_string(),
            controller(&have).to_string(),
        ));
    }
    // ECS reports the role as an ARN (`arn:aws:iam::<account>:role/<path><name>`); the spec may
    // name it with or without its path.
    if let Some(role) = &want.role {
        let matches = have.role.as_deref().is_some_and(|h| {
            let reported = h.split_once(":role/").map_or(h, |(_, rest)| rest);
            let wanted = role
                .split_once(":role/")
                .map_or(role.as_str(), |(_, rest)| rest);
            let wanted = wanted.trim_start_matches('/');
            reported == wanted || reported.rsplit('/').next() == Some(wanted)
        });
        if !matches {
            return Some((
                "role",
                role.clone(),
                have.role.clone().unwrap_or_else(|| "none".into()),
            ));
        }
    }
    None
}

fn display<T: std::fmt::Display>(value: &Option<T>) -> String {
    value.as_ref().map_or_else(|| "none".into(), T::to_string)
}

pub use crate::translate::task_definition::short_reference as short;

#[cfg(test)]
mod tests;
