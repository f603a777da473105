//! The pure decisions of the EcsScalingPolicy controller: whether to register the scalable target
//! (with tags only when creating it), whether to tag an adopted one, which policies and scheduled
//! actions to put or delete, and what the status records. No I/O; every case is unit-tested below.

use std::collections::BTreeMap;

use crate::api::scaling_policy::{EcsScalingPolicyStatus, PolicyStatus};
use crate::aws::types::{
    ScalableTargetObservation, ScalingPolicyObservation, ScheduledActionObservation,
};
use crate::translate::scaling::{
    PutScalingPolicyRequest, PutScheduledActionRequest, RegisterScalableTargetRequest,
    ScalingRequests, SuspendedStateRequest,
};
use crate::translate::tags;

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
    pub adopt: bool,
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

/// Annotation that lets the operator take over a scalable target it did not register.
pub const ADOPT_ANNOTATION: &str = "ecs.operator.dev/adopt";

/// A short stable hash of a request, recorded per request when applied.
pub fn hash<T: serde::Serialize>(request: &T) -> String {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(request).unwrap_or_default();
    Sha256::digest(&bytes)[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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
            if !recorded && !tagged && !desired.adopt {
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
            if !recorded && !tagged {
                plan.tag = Some(desired.owner_tags.clone());
            }
            status.scalable_target_arn = target.arn.clone();
            // Application Auto Scaling may report its service-linked role whatever role was
            // given, so a role is only sent again when the spec's target changed.
            let role_differs = target_request
                .role_arn
                .as_ref()
                .is_some_and(|role| *role != target.role_arn)
                && current.applied.get(TARGET_KEY) != Some(&target_hash(target_request));
            if target.min_capacity != target_request.min_capacity
                || target.max_capacity != target_request.max_capacity
                || target.suspended != suspension(target_request)
                || role_differs
            {
                plan.register = Some(update_request(target_request));
            }
            false
        }
    };
    status.min_capacity = Some(target_request.min_capacity);
    status.max_capacity = Some(target_request.max_capacity);

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
        match known.iter().find(|(name, _)| *name == policy.policy_name) {
            None => plan.put_policies.push(policy.clone()),
            // "You cannot change a TargetTrackingScaling policy to a non TargetTrackingScaling
            // policy, or vice versa": delete, then put.
            Some((_, kind)) if *kind != policy.policy_type => {
                plan.delete_policies.push(policy.policy_name.clone());
                plan.put_policies.push(policy.clone());
            }
            Some(_) if status.applied.get(&key) != Some(&hash(policy)) => {
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
                plan.delete_policies.push(recorded.policy_name.clone());
            }
            status
                .policies
                .retain(|p| p.policy_name != recorded.policy_name);
            status.applied.remove(&policy_key(&recorded.policy_name));
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
        if !exists || status.applied.get(&key) != Some(&hash(action)) {
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
            }
            status.scheduled_actions.retain(|a| a.name != recorded.name);
            status.applied.remove(&action_key(&recorded.name));
        }
    }
    plan.status = status;
    plan
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
mod tests {
    use super::*;
    use crate::api::EcsScalingPolicySpec;
    use serde_json::json;

    const ID: &str = "service/prod/web";
    const ARN: &str = "arn:aws:application-autoscaling:us-east-1:1:scalable-target/abc";

    fn desired(spec: serde_json::Value) -> Desired {
        let spec: EcsScalingPolicySpec = serde_json::from_value(spec).expect("spec");
        let owner_tags = BTreeMap::from([(tags::OWNER_UID.to_owned(), "uid-1".to_owned())]);
        Desired {
            requests: crate::translate::scaling::requests(&spec, Some(ID), &owner_tags)
                .expect("requests"),
            owner_tags,
            uid: "uid-1".into(),
            adopt: false,
        }
    }

    fn base() -> serde_json::Value {
        json!({"serviceRef": {"name": "web"}, "minCapacity": 2, "maxCapacity": 10,
               "targetTrackingPolicies": [{"policyName": "cpu", "targetValue": 70.0,
                 "predefinedMetric": {"type": "ECSServiceAverageCPUUtilization"}}],
               "scheduledActions": [{"name": "night", "schedule": "cron(0 22 * * ? *)", "minCapacity": 1}]})
    }

    fn target(min: i32, max: i32) -> ScalableTargetObservation {
        ScalableTargetObservation {
            resource_id: ID.into(),
            arn: Some(ARN.into()),
            min_capacity: min,
            max_capacity: max,
            role_arn: "arn:aws:iam::1:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService".into(),
            suspended: (false, false, false),
        }
    }

    /// The status after everything in `d` was applied to a target registered as `ARN`.
    fn applied(d: &Desired) -> EcsScalingPolicyStatus {
        let mut status = EcsScalingPolicyStatus {
            scalable_target_arn: Some(ARN.into()),
            ..Default::default()
        };
        for p in &d.requests.policies {
            record_policy(
                &mut status,
                p,
                &ScalingPolicyObservation {
                    name: p.policy_name.clone(),
                    arn: format!("arn:policy/{}", p.policy_name),
                    policy_type: p.policy_type.clone(),
                    alarm_names: vec![],
                },
            );
        }
        for a in &d.requests.scheduled_actions {
            record_action(&mut status, a, &[]);
        }
        status
    }

    fn recorded() -> Observed {
        Observed {
            target: Some(target(2, 10)),
            ..Default::default()
        }
    }

    #[test]
    fn a_new_target_is_registered_with_tags_and_everything_put() {
        let d = desired(base());
        let p = plan(&d, &Observed::default(), &EcsScalingPolicyStatus::default());
        let register = p.register.expect("register");
        assert_eq!(
            register.tags.as_ref().map(|t| t.len()),
            Some(1),
            "tags only at creation"
        );
        assert_eq!(p.put_policies.len(), 1);
        assert_eq!(p.put_actions.len(), 1);
        assert_eq!(p.status.resource_id.as_deref(), Some(ID));
    }

    #[test]
    fn a_settled_object_costs_nothing_and_reads_no_policies() {
        let d = desired(base());
        let status = applied(&d);
        assert!(!needs_policy_read(&d, &status, Some(&target(2, 10))));
        assert!(plan(&d, &recorded(), &status).is_noop());
    }

    #[test]
    fn a_capacity_change_re_registers_without_tags_and_explicit_suspension() {
        let d = desired(base());
        let status = applied(&d);
        let o = Observed {
            target: Some(target(1, 10)),
            ..Default::default()
        };
        let register = plan(&d, &o, &status).register.expect("register");
        assert_eq!(
            register.tags, None,
            "tagging an existing target is TagResource's job"
        );
        assert_eq!((register.min_capacity, register.max_capacity), (2, 10));
        // A suspension removed from the spec is sent as explicit false values.
        let mut suspended = target(2, 10);
        suspended.suspended = (true, false, true);
        let o = Observed {
            target: Some(suspended),
            ..Default::default()
        };
        let register = plan(&d, &o, &status).register.expect("register");
        let state = register.suspended_state.expect("explicit");
        assert_eq!(
            (
                state.dynamic_scaling_in_suspended,
                state.dynamic_scaling_out_suspended,
                state.scheduled_scaling_suspended
            ),
            (Some(false), Some(false), Some(false))
        );
    }

    #[test]
    fn a_changed_target_value_is_one_put() {
        let before = desired(base());
        let status = applied(&before);
        let mut spec = base();
        spec["targetTrackingPolicies"][0]["targetValue"] = json!(60.0);
        let after = desired(spec);
        assert!(needs_policy_read(&after, &status, Some(&target(2, 10))));
        let o = Observed {
            target: Some(target(2, 10)),
            policies: Some(vec![ScalingPolicyObservation {
                name: "cpu".into(),
                arn: "arn:policy/cpu".into(),
                policy_type: "TargetTrackingScaling".into(),
                alarm_names: vec![],
            }]),
            actions: Some(vec![ScheduledActionObservation {
                name: "night".into(),
                ..Default::default()
            }]),
            target_tags: None,
        };
        let p = plan(&after, &o, &status);
        assert_eq!(p.put_policies.len(), 1);
        assert!(p.delete_policies.is_empty() && p.put_actions.is_empty() && p.register.is_none());
    }

    #[test]
    fn a_policy_changing_type_is_deleted_then_put_and_removed_ones_deleted() {
        let before = desired(base());
        let status = applied(&before);
        let mut spec = base();
        spec["targetTrackingPolicies"] = json!([]);
        spec["stepScalingPolicies"] = json!([{"policyName": "cpu", "adjustmentType": "ChangeInCapacity",
            "stepAdjustments": [{"metricIntervalLowerBound": 0, "scalingAdjustment": 1}]}]);
        spec["scheduledActions"] = json!([]);
        let after = desired(spec);
        let p = plan(&after, &recorded(), &status);
        assert_eq!(p.delete_policies, ["cpu"]);
        assert_eq!(p.put_policies[0].policy_type, "StepScaling");
        assert_eq!(p.delete_actions, ["night"]);
        assert!(p.status.scheduled_actions.is_empty());
    }

    #[test]
    fn a_lost_target_is_registered_again_with_everything() {
        let d = desired(base());
        let status = applied(&d);
        let p = plan(&d, &Observed::default(), &status);
        assert!(p.register.is_some());
        assert_eq!(p.put_policies.len(), 1, "AWS deleted them with the target");
        assert_eq!(p.put_actions.len(), 1);
        assert!(p.delete_policies.is_empty());
    }

    #[test]
    fn someone_elses_target_needs_the_annotation() {
        let d = desired(base());
        let foreign = Observed {
            target: Some(target(2, 10)),
            target_tags: Some(BTreeMap::new()),
            ..Default::default()
        };
        let p = plan(&d, &foreign, &EcsScalingPolicyStatus::default());
        assert!(matches!(p.blocked, Some(("AlreadyExists", _))));
        let mut adopting = d.clone();
        adopting.adopt = true;
        let p = plan(&adopting, &foreign, &EcsScalingPolicyStatus::default());
        assert_eq!(p.tag.as_ref(), Some(&adopting.owner_tags));
        assert!(p.blocked.is_none());
        // Our own (a crash before the status write): recognised by its owner tag, no tagging.
        let ours = Observed {
            target_tags: Some(d.owner_tags.clone()),
            ..foreign
        };
        let p = plan(&d, &ours, &EcsScalingPolicyStatus::default());
        assert!(p.blocked.is_none() && p.tag.is_none());
    }

    #[test]
    fn only_recorded_policies_are_deleted_for_leaving_the_spec() {
        let d = desired(base());
        let status = applied(&d);
        let o = Observed {
            target: Some(target(2, 10)),
            policies: Some(vec![
                ScalingPolicyObservation {
                    name: "cpu".into(),
                    policy_type: "TargetTrackingScaling".into(),
                    ..Default::default()
                },
                ScalingPolicyObservation {
                    name: "someone-elses".into(),
                    policy_type: "StepScaling".into(),
                    ..Default::default()
                },
            ]),
            actions: Some(vec![]),
            target_tags: None,
        };
        let p = plan(&d, &o, &status);
        assert!(p.delete_policies.is_empty(), "{:?}", p.delete_policies);
    }

    #[test]
    fn a_role_reported_as_the_service_linked_role_is_not_sent_again_and_again() {
        let mut spec = base();
        spec["roleArn"] = json!("arn:aws:iam::1:role/custom-scaling");
        let d = desired(spec);
        let mut status = applied(&d);
        // Registered once with the role (recorded), reported back as the service-linked role.
        status
            .applied
            .insert(TARGET_KEY.into(), target_hash(&d.requests.target));
        assert!(plan(&d, &recorded(), &status).register.is_none());
        // A spec whose target changed (say, another role) is sent.
        status.applied.insert(TARGET_KEY.into(), "old".into());
        assert!(plan(&d, &recorded(), &status).register.is_some());
    }
}
