//! The pure decisions of the EcsScalingPolicy controller: whether to register the scalable target
//! (with tags only when creating it), whether to tag an adopted one, which policies and scheduled
//! actions to put or delete, and what the status records. No I/O; every case is unit-tested below.

use std::collections::BTreeMap;

use crate::api::ADOPT_ANNOTATION;
use crate::api::scaling_policy::{EcsScalingPolicyStatus, PolicyStatus};
use crate::aws::types::{
    ScalableTargetObservation, ScalingPolicyObservation, ScheduledActionObservation,
};
use crate::controller::pipeline::{Cleanup, Note, Progress};
use crate::translate::scaling::{
    PutScalingPolicyRequest, PutScheduledActionRequest, RegisterScalableTargetRequest,
    ScalingRequests, SuspendedStateRequest,
};
use crate::translate::{short_hash, tags};
use kube::runtime::events::EventType;

/// What the spec asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    /// The requests (the target's carry the owner tags).
    pub requests: ScalingRequests,
    /// The owner tags (Application Auto Scaling tags are a map).
    pub owner_tags: BTreeMap<String, String>,
    /// The object's UID.
    pub uid: String,
    /// The adopt annotation.
    pub adopt: crate::translate::tags::Adoption,
}

/// What the observe step found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// The scalable target, when registered.
    pub target: Option<ScalableTargetObservation>,
    /// Its tags, when read (only to decide whether it is ours).
    pub target_tags: Option<BTreeMap<String, String>>,
    /// Its policies, when read (after a spec change or a re-registration).
    pub policies: Option<Vec<ScalingPolicyObservation>>,
    /// Its scheduled actions, when read.
    pub actions: Option<Vec<ScheduledActionObservation>>,
    /// Adopting: another live EcsScalingPolicy the target's owner tags name (`namespace/name`).
    pub other_owner: Option<String>,
}

/// Everything one pass writes, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// RegisterScalableTarget (tags only when the target does not exist yet).
    pub register: Option<RegisterScalableTargetRequest>,
    /// TagResource on the target (the owner tags of an adopted target).
    pub tag: Option<BTreeMap<String, String>>,
    /// Policies to delete first (removed from the spec, or changing type).
    pub delete_policies: Vec<String>,
    /// Policies to create or update.
    pub put_policies: Vec<PutScalingPolicyRequest>,
    /// Scheduled actions to delete.
    pub delete_actions: Vec<String>,
    /// Scheduled actions to create or update.
    pub put_actions: Vec<PutScheduledActionRequest>,
    /// A reason to stop instead (CamelCase reason, message).
    pub blocked: Option<(&'static str, String)>,
    /// The status after the pass (ARNs of what is put are filled in by apply).
    pub status: EcsScalingPolicyStatus,
}

impl Plan {
    /// Whether the pass writes nothing.
    pub fn is_noop(&self) -> bool {
        self.register.is_none()
            && self.tag.is_none()
            && self.delete_policies.is_empty()
            && self.put_policies.is_empty()
            && self.delete_actions.is_empty()
            && self.put_actions.is_empty()
    }
}

/// A short stable hash of a request, recorded per request when applied.
pub fn hash<T: serde::Serialize>(request: &T) -> String {
    short_hash(&serde_json::to_vec(request).unwrap_or_default(), 6)
}

/// Whether a pass must read the policies and scheduled actions: the spec changed since they were
/// applied, or the target is not (or no longer) registered as recorded.
pub fn needs_policy_read(
    desired: &Desired,
    status: &EcsScalingPolicyStatus,
    target: Option<&ScalableTargetObservation>,
) -> bool {
    let recorded_target = target.is_some_and(|t| {
        t.arn.is_some() && t.arn.as_deref() == status.scalable_target_arn.as_deref()
    });
    !recorded_target
        || desired
            .requests
            .policies
            .iter()
            .any(|p| status.applied.get(&policy_key(&p.policy_name)) != Some(&hash(p)))
        || desired
            .requests
            .scheduled_actions
            .iter()
            .any(|a| status.applied.get(&action_key(&a.scheduled_action_name)) != Some(&hash(a)))
        || status.policies.iter().any(|p| {
            !desired
                .requests
                .policies
                .iter()
                .any(|d| d.policy_name == p.policy_name)
        })
        || status.scheduled_actions.iter().any(|a| {
            !desired
                .requests
                .scheduled_actions
                .iter()
                .any(|d| d.scheduled_action_name == a.name)
        })
}

/// The key of the target's hash in `applied`.
pub const TARGET_KEY: &str = "target";

/// The hash of the target request as sent to an existing target.
pub fn target_hash(desired: &RegisterScalableTargetRequest) -> String {
    hash(&update_request(desired))
}

fn policy_key(name: &str) -> String {
    format!("policy/{name}")
}

fn action_key(name: &str) -> String {
    format!("action/{name}")
}

/// The target request without tags (for an existing target: "To tag an existing scalable target,
/// use the TagResource operation") and with every suspension flag explicit ("Any parameters that
/// you don't specify are not changed", so a removed suspension is sent as false).
fn update_request(desired: &RegisterScalableTargetRequest) -> RegisterScalableTargetRequest {
    let mut request = desired.clone();
    request.tags = None;
    let wanted = suspension(desired);
    request.suspended_state = Some(SuspendedStateRequest {
        dynamic_scaling_in_suspended: Some(wanted.0),
        dynamic_scaling_out_suspended: Some(wanted.1),
        scheduled_scaling_suspended: Some(wanted.2),
    });
    request
}

fn suspension(request: &RegisterScalableTargetRequest) -> (bool, bool, bool) {
    request
        .suspended_state
        .as_ref()
        .map_or((false, false, false), |s| {
            (
                s.dynamic_scaling_in_suspended.unwrap_or(false),
                s.dynamic_scaling_out_suspended.unwrap_or(false),
                s.scheduled_scaling_suspended.unwrap_or(false),
            )
        })
}

/// Whether AWS holds every policy and scheduled action the spec asks for, the actions with
/// their schedule and bounds (a listing at resync shows drift without reading each object).
pub fn holds_everything(
    desired: &Desired,
    policies: &[ScalingPolicyObservation],
    actions: &[ScheduledActionObservation],
) -> bool {
    desired.requests.policies.iter().all(|wanted| {
        policies.iter().any(|p| {
            p.name == wanted.policy_name
                && p.policy_type == wanted.policy_type
                && policy_holds(wanted, p)
        })
    }) && desired.requests.scheduled_actions.iter().all(|wanted| {
        actions
            .iter()
            .any(|a| a.name == wanted.scheduled_action_name && action_holds(wanted, a))
    })
}

/// Whether a policy as AWS reports it has what the spec sets. Members the spec leaves out are
/// not compared (AWS reports its own defaults for them), nor customized metrics.
fn policy_holds(wanted: &PutScalingPolicyRequest, seen: &ScalingPolicyObservation) -> bool {
    fn same<T: PartialEq>(wanted: Option<T>, seen: Option<T>) -> bool {
        wanted.is_none() || wanted == seen
    }
    fn wire<T: serde::Serialize>(value: &T) -> Option<String> {
        serde_json::to_value(value)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
    }
    let figures = &seen.figures;
    if let Some(tracking) = &wanted.target_tracking_scaling_policy_configuration {
        let predefined = tracking.predefined_metric_specification.as_ref();
        return figures.target_value == Some(tracking.target_value)
            && same(
                predefined.and_then(|p| wire(&p.predefined_metric_type)),
                figures.predefined_metric_type.clone(),
            )
            && same(
                predefined.and_then(|p| p.resource_label.clone()),
                figures.resource_label.clone(),
            )
            && same(tracking.scale_in_cooldown, figures.scale_in_cooldown)
            && same(tracking.scale_out_cooldown, figures.scale_out_cooldown)
            && same(tracking.disable_scale_in, figures.disable_scale_in);
    }
    if let Some(step) = &wanted.step_scaling_policy_configuration {
        let mut wanted_steps: Vec<(Option<f64>, Option<f64>, i32)> = step
            .step_adjustments
            .iter()
            .flatten()
            .map(|s| {
                (
                    s.metric_interval_lower_bound,
                    s.metric_interval_upper_bound,
                    s.scaling_adjustment,
                )
            })
            .collect();
        let mut seen_steps = figures.steps.clone();
        let order = |a: &(Option<f64>, Option<f64>, i32), b: &(Option<f64>, Option<f64>, i32)| {
            a.0.unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&b.0.unwrap_or(f64::NEG_INFINITY))
        };
        wanted_steps.sort_by(order);
        seen_steps.sort_by(order);
        return same(
            step.adjustment_type.as_ref().and_then(wire),
            figures.adjustment_type.clone(),
        ) && wanted_steps == seen_steps
            && same(step.cooldown, figures.cooldown)
            && same(
                step.metric_aggregation_type.as_ref().and_then(wire),
                figures.metric_aggregation_type.clone(),
            )
            && same(
                step.min_adjustment_magnitude,
                figures.min_adjustment_magnitude,
            );
    }
    true
}

/// Whether a scheduled action as AWS reports it is the one the spec asks for.
fn action_holds(wanted: &PutScheduledActionRequest, seen: &ScheduledActionObservation) -> bool {
    seen.schedule == wanted.schedule
        && seen.min_capacity == wanted.scalable_target_action.min_capacity
        && seen.max_capacity == wanted.scalable_target_action.max_capacity
}

/// Whether a scheduled action as AWS reports it runs in the time zone and window the spec sets
/// ("If a time zone is not provided, UTC is used by default"; no start or end is none).
fn action_window_holds(
    wanted: &PutScheduledActionRequest,
    seen: &ScheduledActionObservation,
) -> bool {
    let zone = |z: Option<&str>| z.unwrap_or("UTC").to_owned();
    let epoch = |t: &Option<String>| {
        t.as_deref().map(|t| {
            t.parse::<k8s_openapi::jiff::Timestamp>()
                .map(|t| t.as_second())
                .ok()
        })
    };
    zone(wanted.timezone.as_deref()) == zone(seen.timezone.as_deref())
        && epoch(&wanted.start_time) == seen.start_time.map(Some)
        && epoch(&wanted.end_time) == seen.end_time.map(Some)
}

/// The plan for one pass.
pub fn plan(desired: &Desired, observed: &Observed, current: &EcsScalingPolicyStatus) -> Plan {
    let mut status = current.clone();
    let target_request = &desired.requests.target;
    status.resource_id = Some(target_request.resource_id.clone());
    let mut plan = Plan::default();

    let lost = match &observed.target {
        None => {
            // Not registered (never, or gone with its ECS service): register it with our tags, and
            // everything on it again (AWS deleted the policies and actions with it).
            plan.register = Some(target_request.clone());
            status.scalable_target_arn = None;
            status.applied.remove(TARGET_KEY);
            status.policies.clear();
            status.scheduled_actions.clear();
            status.applied.clear();
            true
        }
        Some(target) => {
            let recorded = target.arn.is_some()
                && target.arn.as_deref() == current.scalable_target_arn.as_deref();
            let tagged = observed
                .target_tags
                .as_ref()
                .and_then(|t| t.get(tags::OWNER_UID))
                .is_some_and(|uid| *uid == desired.uid);
            let owner = observed
                .target_tags
                .as_ref()
                .and_then(|t| t.get(tags::OWNER))
                .map(String::as_str);
            if !recorded && !tagged && !desired.adopt.allows(owner) {
                plan.blocked = Some((
                    "AlreadyExists",
                    format!(
                        "a scalable target for {} already exists and was not registered by this object; \
                         delete it, or annotate this object with {ADOPT_ANNOTATION}: \"true\" to take it over",
                        target_request.resource_id
                    ),
                ));
                plan.status = status;
                return plan;
            }
            if !recorded
                && !tagged
                && let Some(other) = &observed.other_owner
            {
                plan.blocked = Some((
                    "OwnedByAnother",
                    format!(
                        "the scalable target for {} is managed by EcsScalingPolicy {other}, which still exists; two objects managing one target would undo (and could deregister) each other's work: delete that object first (with deletionPolicy: Retain to keep the target), then this one adopts it",
                        target_request.resource_id
                    ),
                ));
                plan.status = status;
                return plan;
            }
            if !recorded && !tagged {
                // Adopting: the target is recorded as ours once the owner tags are on it.
                plan.tag = Some(desired.owner_tags.clone());
            } else {
                status.scalable_target_arn = target.arn.clone();
            }
            // Application Auto Scaling may report its service-linked role whatever role was
            // given, so a role is only sent again when the spec's target changed.
            let role_differs = target_request
                .role_arn
                .as_ref()
                .is_some_and(|role| *role != target.role_arn)
                && current.applied.get(TARGET_KEY) != Some(&target_hash(target_request));
            // A role removed from the spec: back to the service-linked role (a registration
            // without one keeps the old role).
            let restored_role = match &target_request.role_arn {
                None if current.applied.get(TARGET_KEY) != Some(&target_hash(target_request))
                    && !target
                        .role_arn
                        .ends_with(crate::translate::scaling::ECS_SERVICE_LINKED_ROLE) =>
                {
                    crate::translate::scaling::ecs_service_linked_role(&target.role_arn)
                }
                _ => None,
            };
            if target.min_capacity != target_request.min_capacity
                || target.max_capacity != target_request.max_capacity
                || target.suspended != suspension(target_request)
                || role_differs
                || restored_role.is_some()
            {
                let mut request = update_request(target_request);
                if restored_role.is_some() {
                    request.role_arn = restored_role;
                }
                plan.register = Some(request);
            }
            false
        }
    };
    if plan.register.is_none() {
        // Registered as the spec says; otherwise the registration's commit records them.
        status.min_capacity = Some(target_request.min_capacity);
        status.max_capacity = Some(target_request.max_capacity);
    }

    // Policies: what exists is what AWS reports when read, otherwise what the status recorded.
    let known: Vec<(String, String)> = if lost {
        Vec::new()
    } else {
        match &observed.policies {
            Some(policies) => policies
                .iter()
                .map(|p| (p.name.clone(), p.policy_type.clone()))
                .collect(),
            None => current
                .policies
                .iter()
                .map(|p| (p.policy_name.clone(), p.policy_type.clone()))
                .collect(),
        }
    };
    for policy in &desired.requests.policies {
        let key = policy_key(&policy.policy_name);
        // Changed outside the operator (when read): put back as the spec says.
        let drifted = !lost
            && observed.policies.iter().flatten().any(|seen| {
                seen.name == policy.policy_name
                    && seen.policy_type == policy.policy_type
                    && !policy_holds(policy, seen)
            });
        // Never recorded as applied, but AWS holds it as the spec says (a policy taken over with
        // its target, or put before an answer was lost): recorded without a write. Only where
        // every member the spec sets is compared (customized metrics are not). A policy applied
        // before is put when the spec changes: a member removed from the spec is not compared
        // (AWS's default stands in for it), and only a put sends that default.
        let comparable = !lost
            && !status.applied.contains_key(&key)
            && policy
                .target_tracking_scaling_policy_configuration
                .as_ref()
                .is_none_or(|t| t.customized_metric_specification.is_none());
        let held = observed.policies.iter().flatten().find(|seen| {
            comparable
                && seen.name == policy.policy_name
                && seen.policy_type == policy.policy_type
                && policy_holds(policy, seen)
        });
        if let Some(seen) = held {
            record_policy(&mut status, policy, seen);
            continue;
        }
        match known.iter().find(|(name, _)| *name == policy.policy_name) {
            None => plan.put_policies.push(policy.clone()),
            // "You cannot change a TargetTrackingScaling policy to a non TargetTrackingScaling
            // policy, or vice versa": delete, then put.
            Some((_, kind)) if *kind != policy.policy_type => {
                plan.delete_policies.push(policy.policy_name.clone());
                plan.put_policies.push(policy.clone());
            }
            Some(_) if drifted || status.applied.get(&key) != Some(&hash(policy)) => {
                plan.put_policies.push(policy.clone());
            }
            Some(_) => {}
        }
    }
    // Only policies this object put (recorded) are ever deleted for leaving the spec.
    for recorded in &current.policies {
        let still_there = !lost && known.iter().any(|(name, _)| *name == recorded.policy_name);
        if !desired
            .requests
            .policies
            .iter()
            .any(|p| p.policy_name == recorded.policy_name)
        {
            if still_there {
                // Forgotten by the deletion's commit, once AWS deleted it.
                plan.delete_policies.push(recorded.policy_name.clone());
            } else {
                forget_policy(&mut status, &recorded.policy_name);
            }
        }
    }

    let known_actions: Vec<String> = if lost {
        Vec::new()
    } else {
        match &observed.actions {
            Some(actions) => actions.iter().map(|a| a.name.clone()).collect(),
            None => current
                .scheduled_actions
                .iter()
                .map(|a| a.name.clone())
                .collect(),
        }
    };
    for action in &desired.requests.scheduled_actions {
        let key = action_key(&action.scheduled_action_name);
        let exists = known_actions.contains(&action.scheduled_action_name);
        // Changed outside the operator (when read): put back as the spec says.
        let drifted = !lost
            && observed.actions.iter().flatten().any(|seen| {
                seen.name == action.scheduled_action_name && !action_holds(action, seen)
            });
        // Held as the spec says though never recorded (see the policies): recorded without a
        // write.
        let held = (!lost && exists && !drifted && !status.applied.contains_key(&key))
            .then(|| {
                observed.actions.iter().flatten().find(|seen| {
                    seen.name == action.scheduled_action_name && action_window_holds(action, seen)
                })
            })
            .flatten();
        if let Some(seen) = held {
            record_action(&mut status, action, std::slice::from_ref(seen));
            continue;
        }
        if !exists || drifted || status.applied.get(&key) != Some(&hash(action)) {
            // A bound removed from the spec: a put would keep the old one ("specify the
            // parameters that you want to change"), so the action is deleted and put anew.
            let wanted = &action.scalable_target_action;
            let keeps_a_removed_bound = !lost
                && observed.actions.iter().flatten().any(|seen| {
                    seen.name == action.scheduled_action_name
                        && ((wanted.min_capacity.is_none() && seen.min_capacity.is_some())
                            || (wanted.max_capacity.is_none() && seen.max_capacity.is_some()))
                });
            if keeps_a_removed_bound {
                plan.delete_actions
                    .push(action.scheduled_action_name.clone());
            }
            plan.put_actions.push(action.clone());
        }
    }
    for recorded in &current.scheduled_actions {
        if !desired
            .requests
            .scheduled_actions
            .iter()
            .any(|a| a.scheduled_action_name == recorded.name)
        {
            if !lost && known_actions.contains(&recorded.name) {
                plan.delete_actions.push(recorded.name.clone());
            } else {
                forget_action(&mut status, &recorded.name);
            }
        }
    }
    plan.status = status;
    plan
}

/// Forgets a policy AWS no longer has.
pub fn forget_policy(status: &mut EcsScalingPolicyStatus, name: &str) {
    status.policies.retain(|p| p.policy_name != name);
    status.applied.remove(&policy_key(name));
}

/// Forgets a scheduled action AWS no longer has.
pub fn forget_action(status: &mut EcsScalingPolicyStatus, name: &str) {
    status.scheduled_actions.retain(|a| a.name != name);
    status.applied.remove(&action_key(name));
}

/// One AWS write of the EcsScalingPolicy pipeline, with what its commit records.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// RegisterScalableTarget (create, or update of capacity, suspension or role).
    Register {
        /// The request.
        request: RegisterScalableTargetRequest,
        /// The hash of the spec's target, recorded once accepted.
        target_hash: String,
        /// The spec's capacity, recorded once accepted.
        min_capacity: i32,
        /// The spec's capacity, recorded once accepted.
        max_capacity: i32,
    },
    /// TagResource with the owner tags of an adopted target.
    Tag {
        /// The target's ARN.
        arn: String,
        /// The tags.
        tags: BTreeMap<String, String>,
    },
    /// DeleteScalingPolicy.
    DeletePolicy {
        /// The target's resource id.
        resource_id: String,
        /// The policy.
        name: String,
    },
    /// PutScalingPolicy.
    PutPolicy(PutScalingPolicyRequest),
    /// DeleteScheduledAction.
    DeleteAction {
        /// The target's resource id.
        resource_id: String,
        /// The action.
        name: String,
    },
    /// PutScheduledAction for each, then one DescribeScheduledActions for their ARNs.
    PutActions {
        /// The target's resource id.
        resource_id: String,
        /// The requests.
        requests: Vec<PutScheduledActionRequest>,
    },
    /// DeregisterScalableTarget (the object's deletion).
    Deregister {
        /// The target's resource id.
        resource_id: String,
    },
}

/// What AWS answered to a [`Write`].
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// RegisterScalableTarget's ARN, when it gave one.
    Registered(Option<String>),
    /// The policy put.
    Policy(Box<ScalingPolicyObservation>),
    /// The scheduled actions as described after the puts.
    Actions(Vec<ScheduledActionObservation>),
    /// Accepted (or already done: a delete of something gone).
    Done,
}

/// The pipeline's plan type of this kind.
pub type PipelinePlan = crate::controller::pipeline::Plan<EcsScalingPolicyStatus, Write, Progress>;

/// The pass as the pipeline runs it, in order: an adopted target's tags, the target, policy
/// deletions, puts, action deletions, action puts.
pub fn pipeline_plan(
    desired: &Desired,
    observed: &Observed,
    current: &EcsScalingPolicyStatus,
) -> PipelinePlan {
    let decided = plan(desired, observed, current);
    if let Some((reason, message)) = decided.blocked {
        return PipelinePlan::only(
            decided.status,
            Err(crate::controller::error::ReconcileError::blocked(
                reason, message,
            )),
        );
    }
    let target = &desired.requests.target;
    let resource_id = target.resource_id.clone();
    let mut writes = Vec::new();
    // An adopted target is tagged first: once its owner tags are on it, it is ours, and a
    // registration's commit may record its ARN.
    if let (Some(tags), Some(arn)) = (
        decided.tag,
        observed.target.as_ref().and_then(|t| t.arn.clone()),
    ) {
        writes.push(Write::Tag { arn, tags });
    }
    if let Some(request) = decided.register {
        writes.push(Write::Register {
            request,
            target_hash: target_hash(target),
            min_capacity: target.min_capacity,
            max_capacity: target.max_capacity,
        });
    }
    writes.extend(
        decided
            .delete_policies
            .into_iter()
            .map(|name| Write::DeletePolicy {
                resource_id: resource_id.clone(),
                name,
            }),
    );
    writes.extend(decided.put_policies.into_iter().map(Write::PutPolicy));
    writes.extend(
        decided
            .delete_actions
            .into_iter()
            .map(|name| Write::DeleteAction {
                resource_id: resource_id.clone(),
                name,
            }),
    );
    if !decided.put_actions.is_empty() {
        writes.push(Write::PutActions {
            resource_id,
            requests: decided.put_actions,
        });
    }
    PipelinePlan::new(
        decided.status,
        writes,
        Ok(Progress::Ready {
            reason: "Applied".into(),
            message: String::new(),
        }),
    )
}

/// Records a write AWS accepted.
pub fn commit(
    write: Write,
    answer: Answer,
    status: &mut EcsScalingPolicyStatus,
    notes: &mut Vec<Note>,
) {
    match (write, answer) {
        (
            Write::Register {
                request,
                target_hash,
                min_capacity,
                max_capacity,
            },
            answer,
        ) => {
            if let Answer::Registered(Some(arn)) = answer {
                status.scalable_target_arn = Some(arn);
            }
            status.applied.insert(TARGET_KEY.into(), target_hash);
            status.min_capacity = Some(min_capacity);
            status.max_capacity = Some(max_capacity);
            notes.push(Note::normal(
                "Registered",
                format!(
                    "scalable target {}: {}..{} tasks",
                    request.resource_id, request.min_capacity, request.max_capacity
                ),
            ));
        }
        (Write::Tag { arn, .. }, _) => {
            notes.push(Note::normal(
                "Adopted",
                format!("took over the scalable target {arn}"),
            ));
            status.scalable_target_arn = Some(arn);
        }
        (Write::DeletePolicy { name, .. }, _) => forget_policy(status, &name),
        (Write::PutPolicy(request), Answer::Policy(put)) => {
            let note = if request.policy_type == "StepScaling" {
                Note::warning(
                    "AlarmNeeded",
                    format!(
                        "step scaling policy {} acts only when a CloudWatch alarm calls it: point an alarm action at {}",
                        request.policy_name, put.arn
                    ),
                )
            } else {
                // One Event for the pass that registered the target and put the policy (a new
                // policy's first pass): both writes named, one Kubernetes write.
                let message = match registered_in_this_pass(notes) {
                    Some(target) => format!("scaling policy {}; {target}", request.policy_name),
                    None => format!("scaling policy {}", request.policy_name),
                };
                Note::normal("PolicyApplied", message)
            };
            notes.push(note);
            record_policy(status, &request, &put);
        }
        (Write::PutPolicy(_), _) => {}
        (Write::DeleteAction { name, .. }, _) => forget_action(status, &name),
        (Write::PutActions { requests, .. }, answer) => {
            let described = match answer {
                Answer::Actions(described) => described,
                _ => Vec::new(),
            };
            for request in &requests {
                record_action(status, request, &described);
            }
        }
        (Write::Deregister { .. }, _) => {
            status.scalable_target_arn = None;
        }
    }
}

/// Takes the `Registered` note this pass wrote last, when it is the last note: its message.
fn registered_in_this_pass(notes: &mut Vec<Note>) -> Option<String> {
    let last = notes.last()?;
    if last.reason != "Registered" || last.type_ != EventType::Normal {
        return None;
    }
    notes.pop().map(|note| note.note)
}

/// What a deletion found.
#[derive(Clone, Debug, PartialEq)]
pub struct CleanupObserved {
    /// `deletionPolicy: Retain`.
    pub retain: bool,
    /// The target's resource id, when one was ever recorded.
    pub resource_id: Option<String>,
    /// Whether the target exists.
    pub exists: bool,
    /// Whether it is this object's (recorded ARN, or its owner tag).
    pub ours: bool,
}

/// The deletion: leave everything (Retain, gone already, not ours) or delete the recorded
/// policies and scheduled actions, then deregister the target.
pub fn cleanup_plan(
    observed: &CleanupObserved,
    status: &EcsScalingPolicyStatus,
) -> crate::controller::pipeline::Plan<EcsScalingPolicyStatus, Write, Cleanup> {
    use crate::controller::pipeline::Plan as P;
    let done = || P::only(status.clone(), Ok(Cleanup::Done));
    if observed.retain {
        return done().when_done(Note::normal(
            "Retained",
            "deletionPolicy is Retain: the scalable target and its policies stay",
        ));
    }
    let Some(resource_id) = observed.resource_id.clone() else {
        return done();
    };
    if !observed.exists {
        return done();
    }
    if !observed.ours {
        return done().note(Note::normal(
            "NotOwned",
            format!(
                "the scalable target of {resource_id} was not registered by this object; left alone"
            ),
        ));
    }
    let mut writes: Vec<Write> = status
        .policies
        .iter()
        .map(|p| Write::DeletePolicy {
            resource_id: resource_id.clone(),
            name: p.policy_name.clone(),
        })
        .collect();
    writes.extend(
        status
            .scheduled_actions
            .iter()
            .map(|a| Write::DeleteAction {
                resource_id: resource_id.clone(),
                name: a.name.clone(),
            }),
    );
    writes.push(Write::Deregister {
        resource_id: resource_id.clone(),
    });
    P::new(status.clone(), writes, Ok(Cleanup::Done)).when_done(Note::normal(
        "Deregistered",
        format!(
            "deregistered the scalable target of {resource_id} with its policies and scheduled actions"
        ),
    ))
}

/// Records a policy put (its ARN and alarms) in the status.
pub fn record_policy(
    status: &mut EcsScalingPolicyStatus,
    request: &PutScalingPolicyRequest,
    put: &ScalingPolicyObservation,
) {
    status
        .policies
        .retain(|p| p.policy_name != request.policy_name);
    status.policies.push(PolicyStatus {
        policy_name: request.policy_name.clone(),
        policy_arn: put.arn.clone(),
        policy_type: request.policy_type.clone(),
        alarm_names: put.alarm_names.clone(),
    });
    status
        .policies
        .sort_by(|a, b| a.policy_name.cmp(&b.policy_name));
    status
        .applied
        .insert(policy_key(&request.policy_name), hash(request));
}

/// Records a scheduled action put in the status (its ARN comes from `described`, when read).
pub fn record_action(
    status: &mut EcsScalingPolicyStatus,
    request: &PutScheduledActionRequest,
    described: &[ScheduledActionObservation],
) {
    let arn = described
        .iter()
        .find(|a| a.name == request.scheduled_action_name)
        .map(|a| a.arn.clone())
        .unwrap_or_default();
    status
        .scheduled_actions
        .retain(|a| a.name != request.scheduled_action_name);
    status
        .scheduled_actions
        .push(crate::api::scaling_policy::ScheduledActionStatus {
            name: request.scheduled_action_name.clone(),
            arn,
        });
    status.scheduled_actions.sort_by(|a, b| a.name.cmp(&b.name));
    status
        .applied
        .insert(action_key(&request.scheduled_action_name), hash(request));
}

#[cfg(test)]
mod tests;
