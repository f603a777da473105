use std::time::Duration;

use super::*;
use crate::api::EcsCapacityProviderSpec;
use crate::api::capacity_provider::{AutoScalingGroupProvider, EnabledDisabled, ManagedScaling};
use crate::translate::capacity_provider as tr;

const TIMING: Timing = Timing {
    poll: Duration::from_secs(5),
    resync: Duration::from_secs(600),
};
const GROUP: &str = "arn:aws:autoscaling:us-east-1:1:autoScalingGroup:u:autoScalingGroupName/web";

fn spec(target: i32) -> EcsCapacityProviderSpec {
    EcsCapacityProviderSpec {
        auto_scaling_group_provider: Some(AutoScalingGroupProvider {
            auto_scaling_group_arn: GROUP.into(),
            managed_scaling: Some(ManagedScaling {
                status: Some(EnabledDisabled::Enabled),
                target_capacity: Some(target),
                ..Default::default()
            }),
            managed_termination_protection: None,
            managed_draining: Some(EnabledDisabled::Enabled),
        }),
        ..Default::default()
    }
}

fn desired(spec: &EcsCapacityProviderSpec) -> Desired {
    let owner_tags = tags::ownership("uid-1", "ns", "web", None);
    Desired {
        name: "web".into(),
        kind: "EC2_AUTOSCALING",
        auto_scaling_group: Some(GROUP.into()),
        create: tr::create_request("web", spec, None, &owner_tags),
        update: tr::update_request("web", spec, None),
        hash: tr::settings_hash(spec),
        tags: vec![],
        owner_tags,
        uid: "uid-1".into(),
        adopt: crate::translate::tags::Adoption::Never,
    }
}

fn found(desired: &Desired) -> Observed {
    Observed {
        provider: Some(CapacityProviderObservation {
            arn: "arn:aws:ecs:us-east-1:1:capacity-provider/web".into(),
            name: "web".into(),
            kind: Some("EC2_AUTOSCALING".into()),
            status: "ACTIVE".into(),
            auto_scaling_group_arn: Some(GROUP.into()),
            tags: desired.owner_tags.clone(),
            ..Default::default()
        }),
        other_owner: None,
    }
}

#[test]
fn a_missing_provider_is_created_and_its_settings_recorded_only_on_success() {
    let d = desired(&spec(90));
    let p = plan(&d, &Observed::default(), &Default::default(), TIMING);
    assert!(matches!(p.steps.as_slice(), [Step::Create { .. }]));
    assert_eq!(p.status.applied_hash, None);
    let mut status = p.status.clone();
    let provider = found(&d).provider.expect("provider");
    commit(
        p.steps[0].clone(),
        Answer::Provider(Box::new(provider)),
        &mut status,
        &mut Vec::new(),
    );
    assert_eq!(status.applied_hash.as_deref(), Some(d.hash.as_str()));
    assert_eq!(status.status.as_deref(), Some("ACTIVE"));
    let settled = plan(&d, &found(&d), &status, TIMING);
    assert!(settled.steps.is_empty(), "{:?}", settled.steps);
}

#[test]
fn a_settings_change_is_one_update_and_a_failed_update_is_sent_again() {
    let before = desired(&spec(90));
    let status = EcsCapacityProviderStatus {
        applied_hash: Some(before.hash.clone()),
        ..Default::default()
    };
    let after = desired(&spec(75));
    let p = plan(&after, &found(&before), &status, TIMING);
    let [Step::Update { request, .. }] = p.steps.as_slice() else {
        panic!("{:?}", p.steps)
    };
    let wire = serde_json::to_value(request).expect("json");
    assert_eq!(
        wire["autoScalingGroupProvider"]["managedScaling"]["targetCapacity"],
        75
    );
    assert!(
        wire["autoScalingGroupProvider"]
            .get("autoScalingGroupArn")
            .is_none()
    );
    assert_eq!(
        p.status.applied_hash, status.applied_hash,
        "not before AWS answers"
    );
    let again = plan(&after, &found(&before), &p.status, TIMING);
    assert_eq!(again.steps, p.steps);
}

#[test]
fn another_group_or_kind_is_refused_not_sent() {
    let d = desired(&spec(90));
    let mut other = found(&d);
    if let Some(p) = other.provider.as_mut() {
        p.auto_scaling_group_arn = Some(format!("{GROUP}-2"));
    }
    let p = plan(&d, &other, &Default::default(), TIMING);
    assert!(p.steps.is_empty());
    assert!(
        matches!(p.outcome, Err(ReconcileError::Blocked { ref reason, .. }) if reason == "ImmutableChange")
    );
    let mut managed = found(&d);
    if let Some(p) = managed.provider.as_mut() {
        p.kind = Some("MANAGED_INSTANCES".into());
    }
    let p = plan(&d, &managed, &Default::default(), TIMING);
    assert!(p.steps.is_empty());
}

#[test]
fn a_provider_this_object_did_not_create_is_refused_unless_adopted() {
    let d = desired(&spec(90));
    let mut foreign = found(&d);
    if let Some(p) = foreign.provider.as_mut() {
        p.tags.clear();
    }
    let p = plan(&d, &foreign, &Default::default(), TIMING);
    assert!(
        matches!(p.outcome, Err(ReconcileError::Blocked { ref reason, .. }) if reason == "AlreadyExists")
    );
    let mut adopting = d.clone();
    adopting.adopt = crate::translate::tags::Adoption::Any;
    let p = plan(&adopting, &foreign, &Default::default(), TIMING);
    assert!(p.steps.iter().any(|s| matches!(s, Step::Retag { .. })));
    assert!(p.steps.iter().any(|s| matches!(s, Step::Update { .. })));
}

#[test]
fn a_failed_ecs_update_stalls_with_its_reason_and_updates_in_flight_are_not_ready() {
    let d = desired(&spec(90));
    let mut failed = found(&d);
    if let Some(p) = failed.provider.as_mut() {
        p.update_status = Some("UPDATE_FAILED".into());
        p.update_status_reason = Some("the group has no scale-in protection".into());
    }
    let status = EcsCapacityProviderStatus {
        applied_hash: Some(d.hash.clone()),
        ..Default::default()
    };
    let p = plan(&d, &failed, &status, TIMING);
    let Ok(Progress::Stalled { message, .. }) = &p.outcome else {
        panic!("{:?}", p.outcome)
    };
    assert!(message.contains("scale-in protection"), "{message}");
    let updating = EcsCapacityProviderStatus {
        status: Some("ACTIVE".into()),
        update_status: Some("UPDATE_IN_PROGRESS".into()),
        ..Default::default()
    };
    assert!(matches!(
        finish(ready(), &updating, TIMING),
        Progress::Progressing { .. }
    ));
}

#[test]
fn deletion_waits_while_clusters_list_the_provider() {
    let d = desired(&spec(90));
    let provider = found(&d).provider;
    let held = CleanupObserved {
        provider: provider.clone(),
        clusters: vec!["prod".into()],
    };
    let p = cleanup_plan(Some(&held), &Default::default(), TIMING);
    assert!(p.steps.is_empty());
    assert!(matches!(&p.outcome, Ok(Cleanup::Stalled { message, .. }) if message.contains("prod")));
    let free = CleanupObserved {
        provider,
        clusters: vec![],
    };
    let p = cleanup_plan(Some(&free), &Default::default(), TIMING);
    assert!(matches!(p.steps.as_slice(), [Step::Delete { .. }]));
    assert!(
        cleanup_plan(None, &Default::default(), TIMING)
            .steps
            .is_empty()
    );
}
