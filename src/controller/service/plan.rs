//! The pure decisions of the EcsService controller: from the spec (its task definition resolved),
//! what DescribeServices shows and what the status recorded, the one step to take (record the
//! create token, create, wait for a draining namesake, update exactly what differs, recreate, or
//! stop and say why), the tag changes, the rollout's health, and the ECS events to publish. No I/O;
//! every case is unit-tested below.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::api::common::Tag;
use crate::api::service::DeploymentControllerType;
use crate::api::service::{DeploymentStrategy, EcsServiceStatus, ServiceSettings};
use crate::aws::types::{ServiceDeploymentObservation, ServiceObservation};
use crate::translate::service::{
    CODE_DEPLOY_UPDATABLE, CreateServiceRequest, EXTERNAL_UPDATABLE, UpdateServiceRequest,
    changed_members, controller_change_allowed, member_hash, member_values, normalise_settings,
    update_with,
};
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
                crate::aws::ecs::family_of_arn(arn) == Some(family.as_str())
                    && crate::aws::ecs::revision_of_arn(arn) == *revision
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
    /// The task definition to run.
    pub target: TaskDefinitionTarget,
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
    pub adopt: bool,
    /// The idempotency token a create of this generation uses.
    pub client_token: String,
}

/// What the observe step found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// The ECS service, when ECS knows one of that name.
    pub service: Option<ServiceObservation>,
    /// The newest service deployment (only read for BLUE_GREEN, LINEAR and CANARY strategies).
    pub service_deployment: Option<ServiceDeploymentObservation>,
    /// The lifecycle of the current deployment was seen finished before (not read again).
    pub lifecycle_done: bool,
    /// Now, in seconds since the epoch.
    pub now: i64,
}

/// The one AWS step of a pass.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Record the create token in status first (so a crash cannot lose it), then create.
    RecordToken(String),
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

/// Annotation that lets the operator take over an ECS service it did not create.
pub const ADOPT_ANNOTATION: &str = "ecs.operator.dev/adopt";

/// The plan for one pass.
pub fn plan(desired: &Desired, observed: &Observed, current: &EcsServiceStatus) -> Plan {
    let mut status = current.clone();
    status.autoscaled = Some(desired.autoscaled);
    let mut notes = Vec::new();
    let service = observed.service.as_ref().filter(|s| s.status != "INACTIVE");
    let Some(service) = service else {
        // No ECS service (or only an INACTIVE one): create, with a token recorded first.
        // A recorded token is used until a service is seen; a service created again (after one of
        // ours was deleted) gets a token of its own, never the one of the service that is gone.
        let token = match &current.service_arn {
            Some(previous) => recreation_token(&desired.client_token, previous),
            None => desired.client_token.clone(),
        };
        clear_observation(&mut status);
        let step = match &status.client_token {
            Some(token) => {
                let mut request = desired.create.clone();
                request.client_token = Some(token.clone());
                Step::Create(request)
            }
            None => {
                status.client_token = Some(token.clone());
                Step::RecordToken(token)
            }
        };
        let health = Health::Progressing {
            reason: "Creating",
            message: format!(
                "creating ECS service {} in cluster {}",
                desired.create.service_name, desired.create.cluster
            ),
        };
        if matches!(step, Step::Create(_)) {
            status.desired_task_definition_arn = Some(desired.target.reference());
            status.applied_force_new_deployment = desired.force_token.clone();
            status.applied_settings = applied(&desired.create.settings);
        }
        return Plan {
            step,
            retag: None,
            health,
            notes,
            status,
            deployment_age: None,
        };
    };

    if service.status == "DRAINING" {
        let recreating = status.service_arn.as_deref() == Some(service.arn.as_str());
        return Plan {
            step: Step::WaitDraining,
            retag: None,
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
    let ours = status.service_arn.as_deref() == Some(service.arn.as_str())
        || tags::is_owned_by(&service.tags, &desired.uid);
    if !ours && !desired.adopt {
        if let Some(owner) = tags::value(&service.tags, tags::OWNER) {
            // Another EcsService owns it, maybe one being deleted right now: look again soon.
            return Plan {
                step: Step::Nothing,
                retag: None,
                health: Health::Stalled {
                    reason: "AlreadyExists",
                    message: format!(
                        "the ECS service {} in cluster {} belongs to EcsService {owner}; delete that object (its service drains, then this one is created) or rename this service (spec.serviceName)",
                        service.name, desired.create.cluster
                    ),
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
    let adopting = !ours;
    if adopting {
        notes.push(Note {
            warning: false,
            reason: "Adopted",
            message: format!("took over the existing ECS service {}", service.arn),
        });
    }
    record_observation(&mut status, service);
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
        .find(|d| d.status == "PRIMARY")
        .or(service.deployments.first());
    let primary_td = primary.map_or(service.task_definition.as_str(), |d| {
        d.task_definition.as_str()
    });
    let wanted = desired.target.reference();
    let mut send_task_definition = false;
    if status.failed_task_definition_arn.as_deref() != Some(wanted.as_str()) {
        status.failed_task_definition_arn = None;
    }
    let sent = status.desired_task_definition_arn.as_deref() == Some(wanted.as_str());
    if !desired.target.matches(primary_td) {
        // Rolled back: we sent this revision and ECS went back to another one. ECS says so in
        // the rollout reason (circuit breaker: "rolling back to deploymentId ..."), leaves a
        // FAILED deployment of it, or ends a BLUE_GREEN/LINEAR/CANARY deployment in ROLLBACK_*.
        let rolled_back = sent
            && (primary.is_some_and(|d| {
                d.rollout_state_reason
                    .as_deref()
                    .is_some_and(|r| r.to_ascii_lowercase().contains("roll"))
            }) || service.deployments.iter().any(|d| {
                desired.target.matches(&d.task_definition)
                    && d.rollout_state.as_deref() == Some("FAILED")
            }) || observed
                .service_deployment
                .as_ref()
                .is_some_and(|d| d.status.starts_with("ROLLBACK")));
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
    } else if primary.is_some_and(|d| d.rollout_state.as_deref() == Some("FAILED")) {
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
        let mut change = tags::diff(&desired.user_tags, &service.tags);
        change.set.extend(
            desired
                .owner_tags
                .iter()
                .filter(|t| {
                    !service
                        .tags
                        .iter()
                        .any(|s| s.key == t.key && s.value == t.value)
                })
                .cloned(),
        );
        (!change.is_empty()).then_some(change)
    };

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
        status.desired_task_definition_arn = Some(wanted.clone());
        status.applied_force_new_deployment = desired.force_token.clone();
        status.applied_settings = applied(&desired.create.settings);
        Step::Update(update)
    };
    if adopting || matches!(step, Step::Nothing) {
        status.applied_settings = applied(&desired.create.settings);
        if desired.target.matches(primary_td) {
            status.desired_task_definition_arn = Some(wanted.clone());
        }
    }
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
        let rolled_back = !desired.target.matches(primary_td);
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
        .find(|d| d.status == "PRIMARY")
        .and_then(|d| d.created_at)
        .map(|started| observed.now.saturating_sub(started));
    Plan {
        step,
        retag,
        health,
        notes,
        status,
        deployment_age,
    }
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

/// The token of a creation that follows the service `previous` (32 hex characters).
fn recreation_token(base: &str, previous: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(format!("{base}:{previous}").as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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

/// `family:revision` of an ARN, for messages.
pub fn short(arn: &str) -> String {
    arn.rsplit_once("task-definition/")
        .map_or(arn, |(_, rest)| rest)
        .to_owned()
}

/// The health of a service whose primary deployment runs the desired task definition.
fn rollout(desired: &Desired, observed: &Observed, service: &ServiceObservation) -> Health {
    let primary = service
        .deployments
        .iter()
        .find(|d| d.status == "PRIMARY")
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
    match primary.and_then(|d| d.rollout_state.as_deref()) {
        Some("FAILED") => {
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
        Some("IN_PROGRESS") => {
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
            Some(d) if d.status == "SUCCESSFUL" => {}
            Some(d) if d.status.starts_with("ROLLBACK") || d.status == "STOPPED" => {
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

fn record_observation(status: &mut EcsServiceStatus, service: &ServiceObservation) {
    let primary = service
        .deployments
        .iter()
        .find(|d| d.status == "PRIMARY")
        .or(service.deployments.first());
    status.service_arn = Some(service.arn.clone());
    status.cluster_arn = Some(service.cluster_arn.clone());
    let td = primary.map_or(service.task_definition.clone(), |d| {
        d.task_definition.clone()
    });
    status.task_definition = Some(short(&td));
    status.task_definition_arn = Some(td);
    status.desired_count = Some(service.desired_count);
    status.running_count = Some(service.running_count);
    status.pending_count = Some(service.pending_count);
    status.primary_deployment_id = primary.map(|d| d.id.clone());
    status.rollout_state = primary.and_then(|d| d.rollout_state.clone());
    status.rollout_state_reason = primary.and_then(|d| d.rollout_state_reason.clone());
}

fn clear_observation(status: &mut EcsServiceStatus) {
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
        && status.running_count == status.desired_count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::EcsServiceSpec;
    use crate::aws::types::{DeploymentObservation, ServiceEventObservation};
    use serde_json::json;

    const TD1: &str = "arn:aws:ecs:us-east-1:1:task-definition/web:1";
    const TD2: &str = "arn:aws:ecs:us-east-1:1:task-definition/web:2";
    const ARN: &str = "arn:aws:ecs:us-east-1:1:service/prod/web";
    const UID: &str = "uid-1";

    #[test]
    fn a_young_rollout_is_looked_at_sooner_than_an_old_one() {
        let poll = Duration::from_secs(5);
        assert_eq!(progress_poll(poll, None), poll, "no deployment seen");
        assert_eq!(progress_poll(poll, Some(0)), Duration::from_secs(1));
        assert_eq!(progress_poll(poll, Some(2)), Duration::from_secs(1));
        assert_eq!(progress_poll(poll, Some(12)), Duration::from_secs(3));
        assert_eq!(progress_poll(poll, Some(600)), poll);
        // A clock that disagrees with ECS (a deployment "from the future") is a young one.
        assert_eq!(progress_poll(poll, Some(-30)), Duration::from_secs(1));
        // A poll period under a second is kept.
        let fast = Duration::from_millis(300);
        assert_eq!(progress_poll(fast, Some(100)), fast);
        assert_eq!(progress_poll(fast, Some(0)), fast);
    }

    #[test]
    fn a_service_just_created_is_not_settled_until_a_pass_has_seen_it() {
        let d = desired(json!({}));
        let mut status = EcsServiceStatus {
            service_arn: Some(ARN.into()),
            ..Default::default()
        };
        assert!(!settled(&status), "created, never observed");
        status = settled_status(&d, &settled_service(&d));
        assert!(settled(&status));
        let mut rolling = settled_service(&d);
        rolling.deployments[0].rollout_state = Some("IN_PROGRESS".into());
        assert!(!settled(&settled_status(&d, &rolling)));
    }

    #[test]
    fn the_plan_carries_the_age_of_the_primary_deployment() {
        let d = desired(json!({}));
        let mut service = settled_service(&d);
        service.deployments[0].rollout_state = Some("IN_PROGRESS".into());
        let status = settled_status(&d, &service);
        let mut seen = observed(service);
        seen.now = 1_030;
        let planned = plan(&d, &seen, &status);
        assert_eq!(planned.deployment_age, Some(30));
        assert!(matches!(planned.health, Health::Progressing { .. }));
        let missing = plan(&d, &Observed::default(), &EcsServiceStatus::default());
        assert_eq!(missing.deployment_age, None);
    }

    fn spec(extra: serde_json::Value) -> EcsServiceSpec {
        let mut base = json!({"cluster": "prod", "taskDefinition": "web:1", "launchType": "EC2", "desiredCount": 2});
        for (k, v) in extra.as_object().expect("object") {
            if v.is_null() {
                base.as_object_mut().expect("object").remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        serde_json::from_value(base).expect("spec")
    }

    fn desired_for(spec: &EcsServiceSpec, target: &str) -> Desired {
        let owner_tags = tags::ownership(UID, "default", "web", None);
        let create =
            crate::translate::service::create_request("web", spec, Some(target), 1, &owner_tags)
                .expect("request");
        Desired {
            create,
            target: TaskDefinitionTarget::Arn(target.to_owned()),
            user_tags: spec.settings.tags.clone().unwrap_or_default(),
            owner_tags,
            spec_desired_count: spec.desired_count,
            autoscaled: false,
            force_token: spec.force_new_deployment.clone(),
            recreate: spec.recreate_on_immutable_change.unwrap_or(false),
            progress_deadline: Duration::from_secs(600),
            uid: UID.into(),
            adopt: false,
            client_token: "token-1".into(),
        }
    }

    fn desired(extra: serde_json::Value) -> Desired {
        desired_for(&spec(extra), TD1)
    }

    /// A settled service as ECS reports what `desired` created: defaults filled in, owner tags.
    fn settled_service(desired: &Desired) -> ServiceObservation {
        let count = desired.create.desired_count.unwrap_or(1);
        let mut settings = normalise_settings(&desired.create.settings);
        settings.tags = None;
        ServiceObservation {
            arn: ARN.into(),
            name: "web".into(),
            cluster_arn: "arn:aws:ecs:us-east-1:1:cluster/prod".into(),
            status: "ACTIVE".into(),
            desired_count: count,
            running_count: count,
            pending_count: 0,
            task_definition: desired.target.reference(),
            launch_type: None,
            deployments: vec![DeploymentObservation {
                id: "ecs-svc/1".into(),
                status: "PRIMARY".into(),
                task_definition: desired.target.reference(),
                rollout_state: Some("COMPLETED".into()),
                rollout_state_reason: Some("ECS deployment ecs-svc/1 completed.".into()),
                desired_count: count,
                running_count: count,
                pending_count: 0,
                failed_tasks: 0,
                created_at: Some(1_000),
            }],
            events: vec![ServiceEventObservation {
                id: "e1".into(),
                created_at: Some(1_000),
                message: "(service web) has reached a steady state.".into(),
            }],
            settings,
            tags: desired.owner_tags.clone(),
        }
    }

    fn observed(service: ServiceObservation) -> Observed {
        Observed {
            service: Some(service),
            service_deployment: None,
            lifecycle_done: false,
            now: 2_000,
        }
    }

    /// The status after a successful pass over `service` for `desired`.
    fn settled_status(desired: &Desired, service: &ServiceObservation) -> EcsServiceStatus {
        let first = plan(
            desired,
            &observed(service.clone()),
            &EcsServiceStatus::default(),
        );
        let mut status = first.status;
        status.reconcile.observed_generation = Some(1);
        status
    }

    fn update(plan: &Plan) -> &UpdateServiceRequest {
        match &plan.step {
            Step::Update(update) => update,
            other => panic!("expected an update, got {other:?}"),
        }
    }

    #[test]
    fn a_missing_service_records_its_token_then_creates_with_it() {
        let d = desired(json!({}));
        let first = plan(&d, &Observed::default(), &EcsServiceStatus::default());
        assert_eq!(first.step, Step::RecordToken("token-1".into()));
        assert_eq!(first.status.client_token.as_deref(), Some("token-1"));
        let second = plan(&d, &Observed::default(), &first.status);
        let Step::Create(request) = &second.step else {
            panic!("{:?}", second.step)
        };
        assert_eq!(request.client_token.as_deref(), Some("token-1"));
        assert_eq!(request.desired_count, Some(2));
        assert!(
            request
                .settings
                .tags
                .iter()
                .flatten()
                .any(|t| t.key == tags::OWNER_UID && t.value.as_deref() == Some(UID))
        );
        // An INACTIVE service of the name counts as none.
        let mut inactive = settled_service(&d);
        inactive.status = "INACTIVE".into();
        assert!(matches!(
            plan(&d, &observed(inactive), &first.status).step,
            Step::Create(_)
        ));
    }

    #[test]
    fn a_service_lost_after_creation_is_created_again_with_a_new_token() {
        let d = desired(json!({}));
        let service = settled_service(&d);
        let status = settled_status(&d, &service);
        assert_eq!(
            status.client_token, None,
            "cleared once the service was seen"
        );
        let mut gone = service;
        gone.status = "INACTIVE".into();
        let p = plan(&d, &observed(gone), &status);
        let Step::RecordToken(token) = &p.step else {
            panic!("{:?}", p.step)
        };
        assert_ne!(
            token, "token-1",
            "never the token of the service that is gone"
        );
        assert!(
            matches!(plan(&d, &Observed::default(), &p.status).step, Step::Create(ref r) if r.client_token.as_ref() == Some(token))
        );
    }

    #[test]
    fn a_draining_namesake_is_waited_for() {
        let d = desired(json!({}));
        let mut draining = settled_service(&d);
        draining.status = "DRAINING".into();
        let p = plan(&d, &observed(draining), &EcsServiceStatus::default());
        assert_eq!(p.step, Step::WaitDraining);
        assert!(matches!(p.health, Health::Progressing { .. }));
    }

    #[test]
    fn someone_elses_service_is_not_taken_over_without_the_annotation() {
        let d = desired(json!({}));
        let mut foreign = settled_service(&d);
        foreign.tags = vec![];
        let p = plan(&d, &observed(foreign.clone()), &EcsServiceStatus::default());
        assert!(matches!(
            p.step,
            Step::Blocked {
                reason: "AlreadyExists",
                ..
            }
        ));
        assert!(matches!(
            p.health,
            Health::Stalled {
                reason: "AlreadyExists",
                ..
            }
        ));
        // Owned by another EcsService (maybe one being deleted): Stalled, no write, looked at soon.
        let mut others = settled_service(&d);
        others.tags = tags::ownership("uid-2", "team", "old", None);
        let p = plan(&d, &observed(others), &EcsServiceStatus::default());
        assert_eq!(p.step, Step::Nothing);
        assert!(
            matches!(p.health, Health::Stalled { reason: "AlreadyExists", ref message } if message.contains("team/old"))
        );
        let mut adopting = d.clone();
        adopting.adopt = true;
        let p = plan(&adopting, &observed(foreign), &EcsServiceStatus::default());
        assert_eq!(p.step, Step::Nothing);
        assert_eq!(p.notes[0].reason, "Adopted");
        let retag = p.retag.expect("owner tags added");
        assert!(retag.set.iter().any(|t| t.key == tags::OWNER_UID));
        assert_eq!(p.health, Health::Ready(p_ready_message()));
    }

    fn p_ready_message() -> String {
        "web:1: 2 of 2 tasks running, 0 pending; rollout complete".into()
    }

    #[test]
    fn our_own_service_left_by_a_crash_is_recognised_by_its_owner_tag() {
        let d = desired(json!({}));
        let mut status = EcsServiceStatus {
            client_token: Some("token-1".into()),
            ..Default::default()
        };
        status.reconcile.observed_generation = Some(1);
        let p = plan(&d, &observed(settled_service(&d)), &status);
        assert_eq!(p.step, Step::Nothing, "no second create, no update");
        assert!(p.notes.iter().all(|n| n.reason != "Adopted"));
        assert_eq!(p.status.service_arn.as_deref(), Some(ARN));
        assert_eq!(p.status.client_token, None);
    }

    #[test]
    fn a_settled_service_costs_nothing() {
        let d = desired(json!({"placementStrategy": [{"type": "spread", "field": "instanceId"}]}));
        let service = settled_service(&d);
        let status = settled_status(&d, &service);
        let p = plan(&d, &observed(service), &status);
        assert_eq!(p.step, Step::Nothing);
        assert_eq!(p.retag, None);
        assert!(matches!(p.health, Health::Ready(_)));
    }

    #[test]
    fn a_literal_family_revision_matches_the_arn_ecs_reports() {
        let s = spec(json!({}));
        let mut d = desired_for(&s, TD1);
        d.target = TaskDefinitionTarget::FamilyRevision {
            family: "web".into(),
            revision: 1,
        };
        let mut service = settled_service(&d);
        service.task_definition = TD1.into();
        service.deployments[0].task_definition = TD1.into();
        let status = settled_status(&d, &service);
        assert_eq!(plan(&d, &observed(service), &status).step, Step::Nothing);
    }

    #[test]
    fn a_new_task_definition_is_the_only_thing_sent() {
        let old = desired(json!({}));
        let service = settled_service(&old);
        let status = settled_status(&old, &service);
        let new = desired_for(&spec(json!({})), TD2);
        let p = plan(&new, &observed(service), &status);
        assert_eq!(
            serde_json::to_value(update(&p)).expect("json"),
            json!({"cluster": "prod", "service": "web", "taskDefinition": TD2})
        );
        assert!(matches!(
            p.health,
            Health::Progressing {
                reason: "Deploying",
                ..
            }
        ));
        assert_eq!(p.status.desired_task_definition_arn.as_deref(), Some(TD2));
    }

    #[test]
    fn the_desired_count_belongs_to_the_spec_unless_an_autoscaler_owns_it() {
        let d = desired(json!({}));
        let mut service = settled_service(&d);
        let status = settled_status(&d, &service);
        service.desired_count = 5;
        service.running_count = 5;
        // Set in the spec, no autoscaler: reverted, as drift (it was right before).
        let p = plan(&d, &observed(service.clone()), &status);
        assert_eq!(update(&p).desired_count, Some(2));
        assert!(
            p.notes
                .iter()
                .any(|n| n.reason == "DesiredCountDrift" && n.warning)
        );
        // An autoscaler owns it: never sent.
        let mut scaled = d.clone();
        scaled.autoscaled = true;
        assert_eq!(
            plan(&scaled, &observed(service.clone()), &status).step,
            Step::Nothing
        );
        // Left open in the spec: never sent either.
        let open = desired(json!({"desiredCount": null}));
        assert_eq!(plan(&open, &observed(service), &status).step, Step::Nothing);
    }

    #[test]
    fn removed_lists_are_cleared_with_empty_lists() {
        let with = desired(json!({
            "placementConstraints": [{"type": "distinctInstance"}],
            "placementStrategy": [{"type": "binpack", "field": "memory"}],
            "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1", "containerName": "app", "containerPort": 80}],
            "serviceRegistries": [{"registryArn": "arn:aws:servicediscovery:us-east-1:1:service/srv-1"}],
            "serviceConnectConfiguration": {"enabled": true, "namespace": "internal"}
        }));
        let service = settled_service(&with);
        let status = settled_status(&with, &service);
        let without = desired(json!({}));
        let p = plan(&without, &observed(service), &status);
        assert_eq!(
            serde_json::to_value(update(&p)).expect("json"),
            json!({"cluster": "prod", "service": "web", "placementConstraints": [], "placementStrategy": [],
                   "loadBalancers": [], "serviceRegistries": [], "serviceConnectConfiguration": {"enabled": false}})
        );
        assert!(
            matches!(
                p.health,
                Health::Progressing {
                    reason: "Deploying",
                    ..
                }
            ),
            "load balancers deploy"
        );
    }

    #[test]
    fn capacity_provider_changes_force_a_deployment() {
        let ec2 = desired(json!({}));
        let service = settled_service(&ec2);
        let status = settled_status(&ec2, &service);
        let spot = desired(
            json!({"launchType": null, "capacityProviderStrategy": [{"capacityProvider": "asg-provider", "weight": 1}]}),
        );
        let p = plan(&spot, &observed(service), &status);
        let u = update(&p);
        assert_eq!(u.force_new_deployment, Some(true));
        assert_eq!(
            u.capacity_provider_strategy
                .as_ref()
                .map(|s| s[0].capacity_provider.as_str()),
            Some("asg-provider")
        );
    }

    #[test]
    fn immutable_fields_stall_or_recreate() {
        let ec2 = desired(json!({}));
        let service = settled_service(&ec2);
        let status = settled_status(&ec2, &service);
        let fargate = desired(
            json!({"launchType": "FARGATE", "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["s"]}}}),
        );
        let p = plan(&fargate, &observed(service.clone()), &status);
        let Step::Blocked { reason, message } = &p.step else {
            panic!("{:?}", p.step)
        };
        assert_eq!(*reason, "ImmutableField");
        assert!(
            message.contains("spec.launchType") && message.contains("recreateOnImmutableChange"),
            "{message}"
        );
        let mut recreate = fargate.clone();
        recreate.recreate = true;
        assert_eq!(
            plan(&recreate, &observed(service), &status).step,
            Step::Delete
        );
    }

    #[test]
    fn a_new_force_token_deploys_once() {
        let d = desired(json!({"forceNewDeployment": "1"}));
        let service = settled_service(&d);
        let mut status = settled_status(&d, &service);
        status.applied_force_new_deployment = None;
        let p = plan(&d, &observed(service.clone()), &status);
        assert_eq!(update(&p).force_new_deployment, Some(true));
        assert_eq!(p.status.applied_force_new_deployment.as_deref(), Some("1"));
        assert_eq!(plan(&d, &observed(service), &p.status).step, Step::Nothing);
    }

    #[test]
    fn rollouts_in_progress_and_past_their_deadline() {
        let d = desired(json!({}));
        let mut service = settled_service(&d);
        let status = settled_status(&d, &service);
        service.deployments[0].rollout_state = Some("IN_PROGRESS".into());
        service.running_count = 1;
        let mut o = observed(service.clone());
        o.now = 1_000 + 60;
        assert!(matches!(
            plan(&d, &o, &status).health,
            Health::Progressing {
                reason: "RollingOut",
                ..
            }
        ));
        o.now = 1_000 + 601;
        assert!(matches!(
            plan(&d, &o, &status).health,
            Health::Stalled {
                reason: "ProgressDeadlineExceeded",
                ..
            }
        ));
        // With a circuit breaker, ECS decides.
        service.settings.deployment_configuration =
            Some(crate::api::service::DeploymentConfiguration {
                deployment_circuit_breaker: Some(crate::api::service::DeploymentCircuitBreaker {
                    enable: true,
                    rollback: true,
                }),
                ..Default::default()
            });
        let with_breaker = desired(
            json!({"deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true}}}),
        );
        let mut o = observed(service);
        o.now = 1_000 + 601;
        assert!(matches!(
            plan(&with_breaker, &o, &status).health,
            Health::Progressing { .. }
        ));
    }

    #[test]
    fn a_rollback_stalls_and_is_not_sent_again() {
        let old = desired(json!({}));
        let mut service = settled_service(&old);
        let mut status = settled_status(&old, &service);
        // We deployed TD2; the circuit breaker rolled back to TD1.
        status.desired_task_definition_arn = Some(TD2.into());
        service.deployments[0].rollout_state_reason =
            Some("ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.".into());
        let new = desired_for(&spec(json!({})), TD2);
        let p = plan(&new, &observed(service.clone()), &status);
        assert_eq!(
            p.step,
            Step::Nothing,
            "the failed task definition is not sent again"
        );
        assert!(matches!(
            p.health,
            Health::Stalled {
                reason: "RolledBack",
                ..
            }
        ));
        assert!(
            p.notes
                .iter()
                .any(|n| n.reason == "RolledBack" && n.warning)
        );
        assert_eq!(p.status.failed_task_definition_arn.as_deref(), Some(TD2));
        // Next pass: still Stalled, no second Event.
        let again = plan(&new, &observed(service.clone()), &p.status);
        assert_eq!(again.step, Step::Nothing);
        assert!(again.notes.iter().all(|n| n.reason != "RolledBack"));
        // A fixed task definition deploys.
        let fixed = desired_for(
            &spec(json!({})),
            "arn:aws:ecs:us-east-1:1:task-definition/web:3",
        );
        let p = plan(&fixed, &observed(service), &again.status);
        assert!(update(&p).task_definition.is_some());
        assert_eq!(p.status.failed_task_definition_arn, None);
    }

    #[test]
    fn a_failed_rollout_of_the_desired_revision_stalls() {
        let d = desired(json!({}));
        let mut service = settled_service(&d);
        let status = settled_status(&d, &service);
        service.deployments[0].rollout_state = Some("FAILED".into());
        service.deployments[0].rollout_state_reason =
            Some("ECS deployment circuit breaker: tasks failed to start.".into());
        let p = plan(&d, &observed(service), &status);
        assert_eq!(p.step, Step::Nothing);
        assert!(matches!(
            p.health,
            Health::Stalled {
                reason: "RolloutFailed",
                ..
            }
        ));
    }

    #[test]
    fn drift_of_a_setting_is_reverted_with_a_warning() {
        let d = desired(json!({"healthCheckGracePeriodSeconds": 30}));
        let mut service = settled_service(&d);
        let status = settled_status(&d, &service);
        service.settings.health_check_grace_period_seconds = Some(0);
        let p = plan(&d, &observed(service), &status);
        assert_eq!(update(&p).health_check_grace_period_seconds, Some(30));
        assert!(p.notes.iter().any(|n| n.reason == "Drift" && n.warning));
        assert!(matches!(
            p.health,
            Health::Progressing {
                reason: "Updating",
                ..
            }
        ));
    }

    #[test]
    fn settings_ecs_may_rewrite_are_sent_only_when_the_spec_changes() {
        let d = desired(
            json!({"serviceConnectConfiguration": {"enabled": true, "namespace": "internal"}}),
        );
        let mut service = settled_service(&d);
        let status = settled_status(&d, &service);
        // ECS reports the namespace as an ARN: not drift, the spec did not change.
        service.settings.service_connect_configuration =
            Some(crate::api::service::ServiceConnectConfiguration {
                enabled: true,
                namespace: Some("arn:aws:servicediscovery:us-east-1:1:namespace/ns-1".into()),
                ..Default::default()
            });
        assert_eq!(
            plan(&d, &observed(service.clone()), &status).step,
            Step::Nothing
        );
        let changed = desired(
            json!({"serviceConnectConfiguration": {"enabled": true, "namespace": "other"}}),
        );
        assert!(
            update(&plan(&changed, &observed(service), &status))
                .service_connect_configuration
                .is_some()
        );
    }

    #[test]
    fn code_deploy_services_change_only_what_the_reference_allows() {
        let d = desired(json!({"deploymentController": {"type": "CODE_DEPLOY"}}));
        let service = settled_service(&d);
        let status = settled_status(&d, &service);
        let new_td = desired_for(
            &spec(json!({"deploymentController": {"type": "CODE_DEPLOY"}})),
            TD2,
        );
        let p = plan(&new_td, &observed(service.clone()), &status);
        assert!(
            matches!(
                p.step,
                Step::Blocked {
                    reason: "NotUpdatable",
                    ..
                }
            ),
            "{:?}",
            p.step
        );
        let grace = desired(
            json!({"deploymentController": {"type": "CODE_DEPLOY"}, "healthCheckGracePeriodSeconds": 60}),
        );
        assert_eq!(
            update(&plan(&grace, &observed(service.clone()), &status))
                .health_check_grace_period_seconds,
            Some(60)
        );
        let registries = desired(json!({"deploymentController": {"type": "CODE_DEPLOY"},
            "serviceRegistries": [{"registryArn": "arn:aws:servicediscovery:us-east-1:1:service/srv-1"}]}));
        assert!(matches!(
            plan(&registries, &observed(service), &status).step,
            Step::Blocked { .. }
        ));
    }

    #[test]
    fn ecs_events_are_published_once_oldest_first() {
        let d = desired(json!({}));
        let mut service = settled_service(&d);
        let event = |id: &str, message: &str| ServiceEventObservation {
            id: id.into(),
            created_at: None,
            message: message.into(),
        };
        service.events = vec![
            event("e4", "(service web) has reached a steady state."),
            event(
                "e3",
                "(service web) was unable to place a task because no container instance met all of its requirements.",
            ),
            event("e2", "(service web) has started 2 tasks: (task a)."),
            event("e1", "old"),
        ];
        let fresh = ecs_events(&service, Some("e2"));
        assert_eq!(fresh.len(), 2);
        assert!(fresh[0].warning && fresh[0].message.contains("unable to place"));
        assert!(!fresh[1].warning);
        assert_eq!(
            ecs_events(&service, None).len(),
            1,
            "first look: only the newest"
        );
        assert!(ecs_events(&service, Some("e4")).is_empty());
    }

    #[test]
    fn blue_green_is_ready_only_when_its_lifecycle_finished() {
        let d = desired(
            json!({"deploymentConfiguration": {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5}}),
        );
        let service = settled_service(&d);
        let status = settled_status(&d, &service);
        let mut o = observed(service);
        o.service_deployment = Some(ServiceDeploymentObservation {
            arn: "sd".into(),
            status: "IN_PROGRESS".into(),
            status_reason: None,
            created_at: 1_000,
        });
        assert!(matches!(
            plan(&d, &o, &status).health,
            Health::Progressing {
                reason: "Baking",
                ..
            }
        ));
        if let Some(sd) = o.service_deployment.as_mut() {
            sd.status = "SUCCESSFUL".into();
        }
        assert!(matches!(plan(&d, &o, &status).health, Health::Ready(_)));
    }

    #[test]
    fn tag_edits_touch_only_user_keys() {
        let d = desired(json!({"tags": [{"key": "team", "value": "b"}]}));
        let mut service = settled_service(&d);
        service.tags.push(Tag {
            key: "team".into(),
            value: Some("a".into()),
        });
        service.tags.push(Tag {
            key: "gone".into(),
            value: Some("x".into()),
        });
        let status = settled_status(&d, &service);
        let retag = plan(&d, &observed(service), &status).retag.expect("retag");
        assert_eq!(
            retag.set,
            vec![Tag {
                key: "team".into(),
                value: Some("b".into())
            }]
        );
        assert_eq!(retag.remove, vec!["gone".to_owned()]);
    }

    #[test]
    fn client_tokens_fit_ecs_and_change_with_the_generation() {
        let token = super::super::client_token("0f9d5c1e-7d0b-4a53-9f0e-6d2c6b8c1a11", 1);
        assert!(token.len() <= 36 && token.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(
            token,
            super::super::client_token("0f9d5c1e-7d0b-4a53-9f0e-6d2c6b8c1a11", 2)
        );
    }

    #[test]
    fn what_ecs_reports_for_an_untouched_rolling_service_is_not_drift() {
        let d = desired(json!({}));
        let mut service = settled_service(&d);
        let status = settled_status(&d, &service);
        // Real DescribeServices output of a plain rolling service.
        service.settings.deployment_configuration = Some(
            serde_json::from_value(json!({
                "deploymentCircuitBreaker": {"enable": false, "rollback": false},
                "maximumPercent": 200, "minimumHealthyPercent": 100,
                "strategy": "ROLLING", "bakeTimeInMinutes": 0,
                "alarms": {"alarmNames": [], "enable": false, "rollback": false}
            }))
            .expect("config"),
        );
        assert_eq!(plan(&d, &observed(service), &status).step, Step::Nothing);
    }

    #[test]
    fn a_cluster_default_strategy_is_not_fought() {
        // Neither launchType nor capacityProviderStrategy: ECS uses the cluster's default strategy
        // and reports it.
        let d = desired(json!({"launchType": null}));
        let mut service = settled_service(&d);
        let status = settled_status(&d, &service);
        service.settings.capacity_provider_strategy =
            Some(vec![crate::api::service::CapacityProviderStrategyItem {
                capacity_provider: "FARGATE".into(),
                weight: Some(1),
                base: Some(0),
            }]);
        assert_eq!(plan(&d, &observed(service), &status).step, Step::Nothing);
    }

    #[test]
    fn removed_alarms_are_switched_off_explicitly() {
        let with = desired(
            json!({"deploymentConfiguration": {"alarms": {"alarmNames": ["5xx"], "enable": true, "rollback": true}}}),
        );
        let service = settled_service(&with);
        let status = settled_status(&with, &service);
        let without = desired(json!({}));
        let p = plan(&without, &observed(service), &status);
        let alarms = update(&p)
            .deployment_configuration
            .as_ref()
            .and_then(|c| c.alarms.clone())
            .expect("alarms sent");
        assert!(!alarms.enable && alarms.alarm_names.is_empty());
    }

    #[test]
    fn code_deploy_services_get_no_forced_deployments() {
        let d = desired(
            json!({"deploymentController": {"type": "CODE_DEPLOY"}, "forceNewDeployment": "2"}),
        );
        let service = settled_service(&d);
        let mut status = settled_status(&d, &service);
        status.applied_force_new_deployment = Some("1".into());
        let p = plan(&d, &observed(service), &status);
        assert!(
            matches!(p.step, Step::Blocked { reason: "NotUpdatable", ref message } if message.contains("forceNewDeployment"))
        );
    }

    #[test]
    fn rollbacks_are_recognised_without_the_circuit_breaker_wording() {
        let old = desired(json!({}));
        let mut service = settled_service(&old);
        let mut status = settled_status(&old, &service);
        status.desired_task_definition_arn = Some(TD2.into());
        let new = desired_for(&spec(json!({})), TD2);
        // An alarm-triggered rollback: a FAILED deployment of the sent revision remains.
        let mut failed = service.deployments[0].clone();
        failed.status = "ACTIVE".into();
        failed.task_definition = TD2.into();
        failed.rollout_state = Some("FAILED".into());
        failed.rollout_state_reason = Some("alarm detected".into());
        service.deployments.push(failed);
        let p = plan(&new, &observed(service.clone()), &status);
        assert_eq!(p.step, Step::Nothing);
        assert!(matches!(
            p.health,
            Health::Stalled {
                reason: "RolledBack",
                ..
            }
        ));
        // A blue/green rollback: the service deployment says so.
        service.deployments.truncate(1);
        let mut o = observed(service);
        o.service_deployment = Some(ServiceDeploymentObservation {
            arn: "sd".into(),
            status: "ROLLBACK_SUCCESSFUL".into(),
            status_reason: None,
            created_at: 1,
        });
        assert!(matches!(
            plan(&new, &o, &status).health,
            Health::Stalled {
                reason: "RolledBack",
                ..
            }
        ));
    }

    #[test]
    fn deployment_controller_changes_follow_the_documented_transitions() {
        let ecs = desired(json!({}));
        let service = settled_service(&ecs);
        let status = settled_status(&ecs, &service);
        let external = desired(json!({"deploymentController": {"type": "EXTERNAL"}}));
        let p = plan(&external, &observed(service.clone()), &status);
        assert_eq!(
            update(&p)
                .deployment_controller
                .as_ref()
                .map(|c| c.r#type.as_str()),
            Some("EXTERNAL")
        );
        let code_deploy = desired(json!({"deploymentController": {"type": "CODE_DEPLOY"}}));
        assert!(matches!(
            plan(&code_deploy, &observed(service), &status).step,
            Step::Blocked {
                reason: "ImmutableField",
                ..
            }
        ));
    }

    #[test]
    fn roles_match_by_name_with_or_without_their_path() {
        for (given, reported) in [
            ("ecsServiceRole", "arn:aws:iam::1:role/ecsServiceRole"),
            (
                "/ecs/ecsServiceRole",
                "arn:aws:iam::1:role/ecs/ecsServiceRole",
            ),
            (
                "ecs/ecsServiceRole",
                "arn:aws:iam::1:role/ecs/ecsServiceRole",
            ),
            (
                "arn:aws:iam::1:role/ecs/ecsServiceRole",
                "arn:aws:iam::1:role/ecs/ecsServiceRole",
            ),
        ] {
            let d = desired(
                json!({"role": given, "loadBalancers": [{"loadBalancerName": "clb", "containerName": "app", "containerPort": 80}]}),
            );
            let mut service = settled_service(&d);
            service.settings.role = Some(reported.into());
            let status = settled_status(&d, &service);
            assert_eq!(
                plan(&d, &observed(service), &status).step,
                Step::Nothing,
                "{given}"
            );
        }
    }

    #[test]
    fn adoption_does_not_resend_what_ecs_may_report_in_another_form() {
        let d = desired(
            json!({"serviceConnectConfiguration": {"enabled": true, "namespace": "internal"}}),
        );
        let mut service = settled_service(&d);
        service.tags = vec![];
        service.settings.service_connect_configuration =
            Some(crate::api::service::ServiceConnectConfiguration {
                enabled: true,
                namespace: Some("arn:aws:servicediscovery:us-east-1:1:namespace/ns-1".into()),
                ..Default::default()
            });
        let mut adopting = d.clone();
        adopting.adopt = true;
        let p = plan(&adopting, &observed(service), &EcsServiceStatus::default());
        assert_eq!(
            p.step,
            Step::Nothing,
            "no deployment for a namespace reported as an ARN"
        );
    }
}
