//! Creation waiting for ECS to list a new service, EXTERNAL services (no task definition of their
//! own, judged by their task sets), deployment controller transitions, and members removed from
//! the spec sent as a new service gets them.

use super::*;

/// The status of a service whose CreateService ECS answered at 1,997 (3 s before the tests' now).
fn created_at_1997() -> EcsServiceStatus {
    EcsServiceStatus {
        service_arn: Some(ARN.into()),
        client_token: Some("token-1".into()),
        create_answered_at: Some(1_997),
        ..Default::default()
    }
}

#[test]
fn a_service_just_created_and_not_listed_yet_is_waited_for_not_created_again() {
    let d = desired(json!({}));
    // Created 3 s ago (the create's commit), DescribeServices answers MISSING.
    let status = created_at_1997();
    let missing = Observed {
        now: 2_000,
        ..Default::default()
    };
    let p = plan(&d, &missing, &status);
    assert_eq!(p.step, Step::Nothing, "no second CreateService");
    assert!(matches!(
        p.health,
        Health::Progressing {
            reason: "WaitingForService",
            ..
        }
    ));
    assert_eq!(
        p.deployment_age,
        Some(3),
        "looked at again soon, later as it ages"
    );
    // A spec change meanwhile does not make it a create either.
    let changed = desired(json!({"desiredCount": 5}));
    assert_eq!(plan(&changed, &missing, &status).step, Step::Nothing);
    // Seen: the marker goes.
    let seen = plan(&d, &observed(settled_service(&d)), &status);
    assert_eq!(seen.status.create_answered_at, None);
    assert_eq!(seen.status.client_token, None);
    // Still missing after the grace: gone for good, created again under a new token.
    let late = Observed {
        now: 1_997 + CREATE_VISIBILITY_GRACE_SECONDS,
        ..Default::default()
    };
    let p = plan(&d, &late, &status);
    let Step::Create(request) = &p.step else {
        panic!("{:?}", p.step)
    };
    assert_ne!(request.client_token.as_deref(), Some("token-1"));
}

#[test]
fn an_external_service_is_created_without_a_task_definition_and_judged_by_its_task_sets() {
    let d = desired_external(json!({}));
    assert_eq!(d.create.task_definition, None);
    assert_eq!(d.create.settings.launch_type, None);
    let mut service = settled_service(&desired(json!({})));
    service.settings = normalise_settings(&d.create.settings);
    service.task_definition = String::new();
    service.deployments.clear();
    service.desired_count = 2;
    service.running_count = 1;
    let set = |stability: &str| crate::aws::types::TaskSetObservation {
        id: "ecs-svc/7".into(),
        status: "PRIMARY".into(),
        task_definition: TD1.into(),
        external_id: Some("blue".into()),
        computed_desired_count: 2,
        running_count: 2,
        pending_count: 0,
        stability_status: Some(stability.into()),
    };
    service.task_sets = vec![set("STABILIZING")];
    let status = EcsServiceStatus {
        service_arn: Some(ARN.into()),
        ..Default::default()
    };
    let p = plan(&d, &observed(service.clone()), &status);
    assert_eq!(
        p.step,
        Step::Nothing,
        "no task definition or deployment to send"
    );
    assert!(
        matches!(
            p.health,
            Health::Progressing {
                reason: "TaskSetsStabilizing",
                ..
            }
        ),
        "{:?}",
        p.health
    );
    assert_eq!(p.status.task_sets.len(), 1);
    assert_eq!(
        p.status.task_sets[0].task_definition.as_deref(),
        Some("web:1")
    );
    assert_eq!(p.status.task_definition, None);
    service.task_sets = vec![set("STEADY_STATE")];
    let p = plan(&d, &observed(service.clone()), &p.status);
    assert!(matches!(p.health, Health::Ready(_)), "{:?}", p.health);
    assert!(settled(&p.status), "steady task sets are settled");
    assert!(!rollback_in_question(&d, &p.status, &service));
}

#[test]
fn removed_members_are_sent_as_a_new_service_gets_them() {
    let fargate = json!({"launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}});
    let mut with = fargate.clone();
    with["platformVersion"] = json!("1.3.0");
    with["availabilityZoneRebalancing"] = json!("DISABLED");
    let before = desired(with);
    let service = settled_service(&before);
    let status = settled_status(&before, &service);
    let p = plan(
        &desired(fargate.clone()),
        &observed(service.clone()),
        &status,
    );
    let sent = update(&p);
    assert_eq!(sent.platform_version.as_deref(), Some("LATEST"));
    assert_eq!(
        sent.availability_zone_rebalancing,
        Some(crate::api::service::AvailabilityZoneRebalancing::Enabled)
    );
    // A status from before removal values were recorded (the members unset): nothing is sent
    // for them, ECS keeps its own.
    let mut old_status = status.clone();
    for member in ["platformVersion", "availabilityZoneRebalancing"] {
        old_status.applied_settings.insert(
            member.into(),
            crate::controller::service::diff::member_hash(&serde_json::Value::Null),
        );
    }
    let p = plan(&desired(fargate), &observed(service), &old_status);
    assert_eq!(p.step, Step::Nothing);
}

#[test]
fn deployment_controller_changes_follow_the_documented_transitions() {
    let ecs = desired(json!({}));
    let service = settled_service(&ecs);
    let status = settled_status(&ecs, &service);
    let external = desired_external(json!({}));
    let p = plan(&external, &observed(service.clone()), &status);
    assert_eq!(update(&p).task_definition, None, "no task definition sent");
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

/// An EXTERNAL service: no task definition, no launch type.
fn desired_external(extra: serde_json::Value) -> Desired {
    let mut all = json!({"deploymentController": {"type": "EXTERNAL"}, "taskDefinition": null, "launchType": null});
    for (k, v) in extra.as_object().expect("object") {
        all[k] = v.clone();
    }
    let s = spec(all);
    let owner_tags = tags::ownership(UID, "default", "web", None);
    let create = crate::translate::service::create_request("web", &s, None, 1, &owner_tags)
        .expect("request");
    Desired {
        create,
        target: None,
        ..desired_for(&spec(json!({})), TD1)
    }
}

/// Every member an UpdateService carries is sent again after the update failed (the pass's
/// status keeps what the plan saw, and the markers are only committed with a write AWS accepted),
/// and counts as applied once it was committed.
#[test]
fn every_member_of_a_failed_update_is_sent_again() {
    let fargate = json!({"launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}});
    let before = desired(fargate.clone());
    let service = settled_service(&before);
    let status = settled_status(&before, &service);
    let changes = [
        ("availabilityZoneRebalancing", json!("DISABLED")),
        ("platformVersion", json!("1.4.0")),
        (
            "serviceConnectConfiguration",
            json!({"enabled": true, "namespace": "internal"}),
        ),
        (
            "volumeConfigurations",
            json!([{"name": "data", "managedEBSVolume": {"sizeInGiB": 10, "roleArn": "arn:aws:iam::1:role/ebs"}}]),
        ),
        (
            "vpcLatticeConfigurations",
            json!([{"roleArn": "arn:aws:iam::1:role/l", "targetGroupArn": "arn:aws:vpc-lattice:us-east-1:1:targetgroup/tg-1", "portName": "http"}]),
        ),
        ("forceNewDeployment", json!("2")),
    ];
    for (member, value) in changes {
        let mut spec = fargate.clone();
        spec[member] = value;
        let after = desired(spec);
        let first = plan(&after, &observed(service.clone()), &status);
        let sent = serde_json::to_value(update(&first)).expect("json");
        let wire = if member == "forceNewDeployment" {
            "forceNewDeployment"
        } else {
            member
        };
        assert!(sent.get(wire).is_some(), "{member} sent: {sent}");
        // The UpdateService failed: nothing committed, the next pass sends it again.
        let again = plan(&after, &observed(service.clone()), &first.status);
        assert_eq!(update(&again), update(&first), "{member} sent again");
        // Accepted: committed with the write, not sent a third time (ECS may report these in
        // another form, so only the spec's change sends them).
        let mut committed = first.status.clone();
        let mut notes = Vec::new();
        first
            .record
            .clone()
            .expect("markers")
            .record(&mut committed, &mut notes);
        let after_commit = plan(&after, &observed(service.clone()), &committed);
        assert!(
            !matches!(&after_commit.step, Step::Update(u) if serde_json::to_value(u).expect("json").get(wire).is_some()),
            "{member} applied: {:?}",
            after_commit.step
        );
    }
}

#[test]
fn a_create_ecs_accepted_is_recorded_with_its_token_and_waited_for_under_it() {
    use crate::controller::service::writes::{Answer, Write, commit};
    let d = desired(json!({}));
    let p = plan(&d, &Observed::default(), &EcsServiceStatus::default());
    let Step::Create(request) = p.step.clone() else {
        panic!("{:?}", p.step)
    };
    let mut status = p.status.clone();
    let mut notes = Vec::new();
    commit(
        Write::Create {
            request,
            record: p.record.clone(),
        },
        Answer::Created {
            arn: ARN.into(),
            cluster_arn: "arn:aws:ecs:us-east-1:123456789012:cluster/prod".into(),
            at: 1_997,
        },
        &mut status,
        &mut notes,
    );
    assert_eq!(status.client_token.as_deref(), Some("token-1"));
    assert_eq!(status.service_arn.as_deref(), Some(ARN));
    // Not listed yet, 3 s later: no second create.
    let missing = Observed {
        now: 2_000,
        ..Default::default()
    };
    assert_eq!(plan(&d, &missing, &status).step, Step::Nothing);
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
    let p = plan(&d, &observed(gone.clone()), &status);
    let Step::Create(request) = &p.step else {
        panic!("{:?}", p.step)
    };
    let token = request.client_token.clone().expect("a token");
    assert_ne!(
        token, "token-1",
        "never the token of the service that is gone"
    );
    assert_eq!(
        p.status.client_token.as_deref(),
        Some(token.as_str()),
        "kept: a pass after a failed create (the gone service's ARN cleared) sends it again"
    );
    assert!(
        matches!(plan(&d, &Observed::default(), &p.status).step, Step::Create(ref r) if r.client_token.as_deref() == Some(token.as_str()))
    );
    assert!(
        matches!(plan(&d, &observed(gone.clone()), &status).step, Step::Create(ref r) if r.client_token == Some(token.clone())),
        "the same token on the pass after a crash"
    );
    // The service created again is lost too, in the same generation: its ARN is the same (an
    // ARN names only the cluster and the service), its deployments are newer, so is its token.
    let mut again = gone;
    for deployment in &mut again.deployments {
        deployment.created_at = Some(deployment.created_at.unwrap_or(0) + 3_600);
    }
    if again.deployments.is_empty() {
        again
            .deployments
            .push(crate::aws::types::DeploymentObservation {
                created_at: Some(3_600),
                ..Default::default()
            });
    }
    let Step::Create(second) = plan(&d, &observed(again), &status).step else {
        panic!("a create")
    };
    assert_ne!(second.client_token, Some(token), "a token of its own");
}

#[test]
fn the_inactive_service_a_new_one_replaced_is_not_taken_for_ours_gone() {
    let d = desired(json!({}));
    // Created 3 s ago; a describe sent before ECS listed it answers the INACTIVE namesake it
    // replaced (the same ARN), whose deployments all started earlier.
    let status = created_at_1997();
    let mut replaced = settled_service(&d);
    replaced.status = "INACTIVE".into();
    for deployment in &mut replaced.deployments {
        deployment.created_at = Some(1_000);
    }
    let stale = Observed {
        now: 2_000,
        ..observed(replaced.clone())
    };
    assert_eq!(
        plan(&d, &stale, &status).step,
        Step::Nothing,
        "no second create"
    );
    // One whose deployment started after our create was answered is ours, gone: created again.
    for deployment in &mut replaced.deployments {
        deployment.created_at = Some(1_998);
    }
    let gone = Observed {
        now: 2_000,
        ..observed(replaced)
    };
    assert!(matches!(plan(&d, &gone, &status).step, Step::Create(_)));
}
