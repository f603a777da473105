//! Every case from literal inputs, no network.

use super::*;
use crate::api::EcsScalingPolicySpec;
use crate::aws::types::PolicyFigures;
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
        adopt: crate::translate::tags::Adoption::Never,
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
                figures: Default::default(),
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
        other_owner: None,
        target: Some(target(2, 10)),
        policies: Some(vec![ScalingPolicyObservation {
            name: "cpu".into(),
            arn: "arn:policy/cpu".into(),
            policy_type: "TargetTrackingScaling".into(),
            alarm_names: vec![],
            figures: Default::default(),
        }]),
        actions: Some(vec![ScheduledActionObservation {
            timezone: None,
            start_time: None,
            end_time: None,
            name: "night".into(),
            schedule: "cron(0 22 * * ? *)".into(),
            min_capacity: Some(1),
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
    assert_eq!(
        p.status.scheduled_actions.len(),
        1,
        "kept in status until AWS deleted it"
    );
    // A failed delete: the next pass plans it again.
    let again = pipeline_plan(&after, &recorded(), &p.status);
    assert!(
        again
            .steps
            .iter()
            .any(|w| matches!(w, Write::DeleteAction { name, .. } if name == "night"))
    );
    assert!(
        again
            .steps
            .iter()
            .any(|w| matches!(w, Write::DeletePolicy { name, .. } if name == "cpu"))
    );
    // Once DeleteScheduledAction succeeded, it is forgotten.
    let mut done = p.status.clone();
    commit(
        Write::DeleteAction {
            resource_id: ID.into(),
            name: "night".into(),
        },
        Answer::Done,
        &mut done,
        &mut Vec::new(),
    );
    assert!(done.scheduled_actions.is_empty());
    assert!(!done.applied.contains_key(&action_key("night")));
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
    adopting.adopt = crate::translate::tags::Adoption::Any;
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
fn taking_over_policies_and_actions_aws_holds_writes_nothing_but_records_them() {
    let mut adopting = desired(base());
    adopting.adopt = crate::translate::tags::Adoption::Any;
    let seen_policy = |target_value: f64| ScalingPolicyObservation {
        name: "cpu".into(),
        arn: "arn:policy/cpu".into(),
        policy_type: "TargetTrackingScaling".into(),
        alarm_names: vec!["alarm-high".into()],
        figures: PolicyFigures {
            target_value: Some(target_value),
            predefined_metric_type: Some("ECSServiceAverageCPUUtilization".into()),
            ..Default::default()
        },
    };
    let seen_action = |min: Option<i32>| ScheduledActionObservation {
        timezone: None,
        start_time: None,
        end_time: None,
        name: "night".into(),
        arn: "arn:action/night".into(),
        schedule: "cron(0 22 * * ? *)".into(),
        min_capacity: min,
        max_capacity: None,
    };
    let foreign = Observed {
        target: Some(target(2, 10)),
        target_tags: Some(BTreeMap::new()),
        policies: Some(vec![seen_policy(70.0)]),
        actions: Some(vec![seen_action(Some(1))]),
        other_owner: None,
    };
    let p = plan(&adopting, &foreign, &EcsScalingPolicyStatus::default());
    assert!(p.register.is_none() && p.put_policies.is_empty() && p.put_actions.is_empty());
    assert_eq!(
        p.tag.as_ref(),
        Some(&adopting.owner_tags),
        "only the owner tags"
    );
    assert_eq!(p.status.policies[0].policy_arn, "arn:policy/cpu");
    assert_eq!(p.status.scheduled_actions[0].arn, "arn:action/night");
    assert_eq!(
        p.status.applied.len(),
        2,
        "both recorded as applied: {:?}",
        p.status.applied
    );

    // A time zone or window AWS has and the spec does not set is a difference.
    let berlin = Observed {
        actions: Some(vec![ScheduledActionObservation {
            timezone: Some("Europe/Berlin".into()),
            ..seen_action(Some(1))
        }]),
        ..foreign.clone()
    };
    let p = plan(&adopting, &berlin, &EcsScalingPolicyStatus::default());
    assert_eq!(p.put_actions.len(), 1, "UTC is not Europe/Berlin");
    let mut windowed = adopting.clone();
    windowed.requests.scheduled_actions[0].timezone = Some("Europe/Berlin".into());
    windowed.requests.scheduled_actions[0].start_time = Some("2027-01-01T00:00:00Z".into());
    let same_window = Observed {
        actions: Some(vec![ScheduledActionObservation {
            timezone: Some("Europe/Berlin".into()),
            start_time: Some(1_798_761_600),
            ..seen_action(Some(1))
        }]),
        ..foreign.clone()
    };
    let p = plan(&windowed, &same_window, &EcsScalingPolicyStatus::default());
    assert!(p.put_actions.is_empty(), "the same zone and window is held");

    // A setting removed from the spec of a policy applied before is put (without it), though
    // the listing still shows it: a removed member is not compared.
    let mut spec = base();
    spec["targetTrackingPolicies"][0]["disableScaleIn"] = json!(true);
    let status = applied(&desired(spec));
    let still_disabled = Observed {
        policies: Some(vec![ScalingPolicyObservation {
            figures: PolicyFigures {
                disable_scale_in: Some(true),
                ..seen_policy(70.0).figures
            },
            ..seen_policy(70.0)
        }]),
        ..foreign.clone()
    };
    let p = plan(&desired(base()), &still_disabled, &status);
    assert_eq!(p.put_policies.len(), 1, "disableScaleIn removed: put");
    assert_ne!(
        p.put_policies[0]
            .target_tracking_scaling_policy_configuration
            .as_ref()
            .and_then(|t| t.disable_scale_in),
        Some(true),
        "the put replaces the configuration: left out is AWS's default (false)"
    );

    // What differs is put, as before.
    let differing = Observed {
        policies: Some(vec![seen_policy(50.0)]),
        actions: Some(vec![seen_action(Some(3))]),
        ..foreign
    };
    let p = plan(&adopting, &differing, &EcsScalingPolicyStatus::default());
    assert_eq!(p.put_policies.len(), 1);
    assert_eq!(p.put_actions.len(), 1);
}

#[test]
fn a_target_another_live_object_owns_is_not_adopted() {
    let mut adopting = desired(base());
    adopting.adopt = crate::translate::tags::Adoption::Any;
    let owned = Observed {
        target: Some(target(2, 10)),
        target_tags: Some(BTreeMap::from([(
            tags::OWNER_UID.to_owned(),
            "someone-else".to_owned(),
        )])),
        other_owner: Some("team-a/web".into()),
        ..Default::default()
    };
    let p = plan(&adopting, &owned, &EcsScalingPolicyStatus::default());
    assert!(
        matches!(p.blocked, Some(("OwnedByAnother", ref m)) if m.contains("team-a/web")),
        "{:?}",
        p.blocked
    );
    assert!(p.tag.is_none() && p.register.is_none() && p.put_policies.is_empty());
}

#[test]
fn only_recorded_policies_are_deleted_for_leaving_the_spec() {
    let d = desired(base());
    let status = applied(&d);
    let o = Observed {
        other_owner: None,
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

#[test]
fn removed_values_are_sent_as_their_defaults() {
    // A scheduled action's bound removed: deleted and put anew (a put keeps what it leaves out).
    let mut spec = base();
    spec["scheduledActions"][0]["maxCapacity"] = json!(4);
    let before = desired(spec);
    let status = applied(&before);
    let after = desired(base());
    let seen = Observed {
        target: Some(target(2, 10)),
        actions: Some(vec![ScheduledActionObservation {
            timezone: None,
            start_time: None,
            end_time: None,
            name: "night".into(),
            schedule: "cron(0 22 * * ? *)".into(),
            min_capacity: Some(1),
            max_capacity: Some(4),
            ..Default::default()
        }]),
        policies: Some(vec![]),
        ..Default::default()
    };
    let p = plan(&after, &seen, &status);
    assert_eq!(p.delete_actions, ["night"]);
    assert_eq!(p.put_actions.len(), 1);
    // No time zone in the spec: UTC, sent (a cron schedule).
    assert_eq!(
        p.put_actions[0].timezone.as_deref(),
        Some(crate::translate::scaling::DEFAULT_TIMEZONE)
    );
    // A custom role removed: back to the service-linked role of the account.
    let mut spec = base();
    spec["roleArn"] = json!("arn:aws:iam::123456789012:role/custom");
    let with_role = desired(spec);
    let status = applied(&with_role);
    let mut registered = target(2, 10);
    registered.role_arn = "arn:aws:iam::123456789012:role/custom".into();
    let seen = Observed {
        target: Some(registered.clone()),
        ..Default::default()
    };
    let p = plan(&desired(base()), &seen, &status);
    assert_eq!(
        p.register.and_then(|r| r.role_arn).as_deref(),
        Some(
            "arn:aws:iam::123456789012:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"
        )
    );
    // Unchanged spec: the role is left alone.
    let p = plan(&with_role, &seen, &status);
    assert!(p.register.is_none());
}

#[test]
fn drift_outside_the_operator_is_seen_in_listings_and_put_back() {
    let d = desired(base());
    let status = applied(&d);
    let policy = ScalingPolicyObservation {
        name: "cpu".into(),
        arn: "arn:policy/cpu".into(),
        policy_type: "TargetTrackingScaling".into(),
        alarm_names: vec![],
        figures: crate::aws::types::PolicyFigures {
            target_value: Some(70.0),
            predefined_metric_type: Some("ECSServiceAverageCPUUtilization".into()),
            // AWS's own defaults for what the spec leaves out are not compared.
            scale_in_cooldown: Some(300),
            ..Default::default()
        },
    };
    let mut retargeted = policy.clone();
    retargeted.figures.target_value = Some(55.0);
    assert!(!holds_everything(
        &d,
        std::slice::from_ref(&retargeted),
        &[ScheduledActionObservation {
            timezone: None,
            start_time: None,
            end_time: None,
            name: "night".into(),
            schedule: "cron(0 22 * * ? *)".into(),
            min_capacity: Some(1),
            ..Default::default()
        }]
    ));
    let night = ScheduledActionObservation {
        timezone: None,
        start_time: None,
        end_time: None,
        name: "night".into(),
        schedule: "cron(0 22 * * ? *)".into(),
        min_capacity: Some(1),
        ..Default::default()
    };
    assert!(holds_everything(
        &d,
        std::slice::from_ref(&policy),
        std::slice::from_ref(&night)
    ));
    // A policy deleted outside, an action's bound changed outside: both amiss.
    assert!(!holds_everything(&d, &[], std::slice::from_ref(&night)));
    let mut changed = night.clone();
    changed.max_capacity = Some(9);
    assert!(!holds_everything(
        &d,
        std::slice::from_ref(&policy),
        std::slice::from_ref(&changed)
    ));
    // Read directly, the plan puts both back (the spec and its record did not change).
    let seen = Observed {
        target: Some(target(2, 10)),
        policies: Some(vec![]),
        actions: Some(vec![changed]),
        ..Default::default()
    };
    let p = plan(&d, &seen, &status);
    assert_eq!(p.put_policies.len(), 1);
    assert_eq!(p.put_actions.len(), 1);
    // The bound added outside cannot be cleared by a put: the action is deleted first.
    assert_eq!(p.delete_actions, ["night"]);
    assert!(p.delete_policies.is_empty());
}

#[test]
fn a_first_pass_tells_the_registration_and_the_policy_in_one_event() {
    let d = desired(base());
    let p = plan(&d, &Observed::default(), &EcsScalingPolicyStatus::default());
    let mut status = EcsScalingPolicyStatus::default();
    // Commits a registration AWS accepted to `notes`.
    let mut register = |notes: &mut Vec<Note>| {
        let write = Write::Register {
            request: p.register.clone().expect("register"),
            target_hash: "h".into(),
            min_capacity: 2,
            max_capacity: 10,
        };
        commit(
            write,
            Answer::Registered(Some(ARN.into())),
            &mut status,
            notes,
        );
    };
    // Commits a put of the plan's policy, renamed and retyped, that AWS accepted to `notes`.
    let put = |name: &str, policy_type: &str, notes: &mut Vec<Note>| {
        let mut request = p.put_policies[0].clone();
        request.policy_name = name.into();
        request.policy_type = policy_type.into();
        let answer = Answer::Policy(Box::new(ScalingPolicyObservation {
            name: request.policy_name.clone(),
            arn: format!("arn:policy/{name}"),
            policy_type: request.policy_type.clone(),
            alarm_names: vec![],
            figures: Default::default(),
        }));
        commit(
            Write::PutPolicy(request),
            answer,
            &mut EcsScalingPolicyStatus::default(),
            notes,
        );
    };
    let reasons = |notes: &[Note]| notes.iter().map(|n| n.reason.clone()).collect::<Vec<_>>();

    // Registered and put in one pass: one Event naming both.
    let mut notes = Vec::new();
    register(&mut notes);
    put("cpu", "TargetTrackingScaling", &mut notes);
    assert_eq!(reasons(&notes), ["PolicyApplied"]);
    assert_eq!(
        notes[0].note,
        format!("scaling policy cpu; scalable target {ID}: 2..10 tasks")
    );

    // A registration whose policy put failed keeps its own Event.
    let mut notes = Vec::new();
    register(&mut notes);
    assert_eq!(reasons(&notes), ["Registered"]);

    // Two policies in one pass: the first policy's Event takes the registration, the second's
    // names only itself.
    let mut notes = Vec::new();
    register(&mut notes);
    put("memory", "TargetTrackingScaling", &mut notes);
    put("cpu", "TargetTrackingScaling", &mut notes);
    assert_eq!(reasons(&notes), ["PolicyApplied", "PolicyApplied"]);
    assert_eq!(
        notes[0].note,
        format!("scaling policy memory; scalable target {ID}: 2..10 tasks")
    );
    assert_eq!(notes[1].note, "scaling policy cpu");

    // A step scaling policy's warning is its own Event; the registration keeps its own.
    let mut notes = Vec::new();
    register(&mut notes);
    put("steps", "StepScaling", &mut notes);
    assert_eq!(reasons(&notes), ["Registered", "AlarmNeeded"]);
}
