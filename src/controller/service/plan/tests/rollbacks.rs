//! Rollbacks: told from the service deployment UpdateService started (or a FAILED deployment of
//! the revision still listed), never from ECS's texts; a rolled-back revision is not sent again.

use super::*;

#[test]
fn a_rollback_stalls_and_is_not_sent_again() {
    let old = desired(json!({}));
    let mut service = settled_service(&old);
    let mut status = settled_status(&old, &service);
    // We deployed TD2; the circuit breaker rolled back to TD1, and the rollback is over: only
    // the service deployment UpdateService started says so now.
    status.desired_task_definition_arn = Some(TD2.into());
    status.service_deployment_arn = Some(SD2.into());
    service.deployments[0].rollout_state_reason =
        Some("ECS deployment circuit breaker: rollback completed.".into());
    let new = desired_for(&spec(json!({})), TD2);
    assert!(rollback_in_question(&new, &status, &service));
    // Without the service deployment's word, the text alone is not read as a rollback.
    let p = plan(&new, &observed(service.clone()), &status);
    assert!(
        update(&p).task_definition.is_some(),
        "no text matching: another revision running is sent again"
    );
    let listed = [
        service_deployment("sd-1", "SUCCESSFUL", 100),
        service_deployment(SD2, "ROLLBACK_SUCCESSFUL", 200),
    ];
    let mut seen = observed(service.clone());
    seen.rolled_back = rollback_of(&listed, status.service_deployment_arn.as_deref());
    assert!(seen.rolled_back.is_some());
    let service = seen.service.clone().expect("service");
    let p = plan(&new, &seen, &status);
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
    // Next pass: still Stalled, no second Event, and no need to read the deployments again.
    assert!(!rollback_in_question(&new, &p.status, &service));
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

const SD2: &str = "arn:aws:ecs:us-east-1:1:service-deployment/prod/web/sd-2";

fn service_deployment(arn: &str, status: &str, created_at: i64) -> ServiceDeploymentObservation {
    ServiceDeploymentObservation {
        arn: arn.into(),
        status: status.into(),
        status_reason: None,
        created_at,
        ..Default::default()
    }
}

#[test]
fn the_rollback_is_the_recorded_service_deployment_ending_rollback() {
    let rolled = service_deployment(SD2, "ROLLBACK_SUCCESSFUL", 200);
    let fine = service_deployment("sd-3", "SUCCESSFUL", 300);
    // Recorded: only that one decides, whatever came after.
    assert_eq!(
        rollback_of(&[rolled.clone(), fine.clone()], Some(SD2)),
        Some(rolled.clone())
    );
    assert_eq!(
        rollback_of(std::slice::from_ref(&fine), Some(SD2)),
        None,
        "not listed (someone else's deployments since): not a rollback"
    );
    // Not recorded (status from an older operator): the newest one.
    assert_eq!(
        rollback_of(std::slice::from_ref(&rolled), None),
        Some(rolled.clone())
    );
    assert_eq!(rollback_of(&[rolled, fine], None), None);
    for status in [
        "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_FAILED",
        "ROLLBACK_REQUESTED",
    ] {
        assert!(rollback_of(&[service_deployment(SD2, status, 1)], Some(SD2)).is_some());
    }
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
        ..Default::default()
    });
    assert!(matches!(
        plan(&new, &o, &status).health,
        Health::Stalled {
            reason: "RolledBack",
            ..
        }
    ));
}
