//! Every plan case from literal inputs, no network.

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
        target: Some(TaskDefinitionTarget::Arn(target.to_owned())),
        user_tags: spec.settings.tags.clone().unwrap_or_default(),
        owner_tags,
        spec_desired_count: spec.desired_count,
        autoscaled: false,
        force_token: spec.force_new_deployment.clone(),
        recreate: spec.recreate_on_immutable_change.unwrap_or(false),
        progress_deadline: Duration::from_secs(600),
        uid: UID.into(),
        adopt: crate::translate::tags::Adoption::Never,
        client_token: "token-1".into(),
        pre_deploy: None,
        control: crate::controller::service::deployment::Control {
            namespace: "default".into(),
            name: "web".into(),
            ..Default::default()
        },
        scale_selector: crate::translate::service::scale_selector("web"),
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
        task_definition: desired.target.as_ref().expect("target").reference(),
        launch_type: None,
        deployments: vec![DeploymentObservation {
            id: "ecs-svc/1".into(),
            status: "PRIMARY".into(),
            task_definition: desired.target.as_ref().expect("target").reference(),
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
        current_service_deployment: None,
        task_sets: Vec::new(),
    }
}

fn observed(service: ServiceObservation) -> Observed {
    Observed {
        pre_deploy_task: None,
        pre_deploy_running: None,
        service: Some(service),
        service_deployment: None,
        lifecycle_done: false,
        other_owner: None,
        rolled_back: None,
        stopped_tasks: Vec::new(),
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
fn a_missing_service_is_created_at_once_with_its_generations_token() {
    let d = desired(json!({}));
    let first = plan(&d, &Observed::default(), &EcsServiceStatus::default());
    let Step::Create(request) = &first.step else {
        panic!("{:?}", first.step)
    };
    assert_eq!(request.client_token.as_deref(), Some("token-1"));
    assert_eq!(
        first.status.client_token, None,
        "the token goes into status with the create's answer, not before"
    );
    // A pass after a crash (nothing recorded) sends the same token.
    assert_eq!(
        plan(&d, &Observed::default(), &first.status).step,
        first.step
    );
    // A token an older operator recorded before its create is used as it is.
    let recorded = EcsServiceStatus {
        client_token: Some("recorded".into()),
        ..Default::default()
    };
    assert!(matches!(
        plan(&d, &Observed::default(), &recorded).step,
        Step::Create(ref r) if r.client_token.as_deref() == Some("recorded")
    ));
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
    adopting.adopt = crate::translate::tags::Adoption::Any;
    let p = plan(&adopting, &observed(foreign), &EcsServiceStatus::default());
    assert_eq!(p.step, Step::Nothing);
    assert_eq!(
        p.status.service_arn, None,
        "not ours until the owner tags are on it"
    );
    let mut adopted = EcsServiceStatus::default();
    let mut notes = Vec::new();
    p.record
        .clone()
        .expect("recorded with the retag")
        .record(&mut adopted, &mut notes);
    assert_eq!(notes[0].reason, "Adopted");
    assert_eq!(adopted.service_arn.as_deref(), Some(ARN));
    let retag = p.retag.expect("owner tags added");
    assert!(retag.set.iter().any(|t| t.key == tags::OWNER_UID));
    assert_eq!(p.health, Health::Ready(p_ready_message()));
}

#[test]
fn a_namesake_another_object_created_is_not_ours_though_its_arn_is_the_one_we_recorded() {
    let d = desired(json!({}));
    let mine = settled_service(&d);
    let status = settled_status(&d, &mine);
    // Ours was deleted; another EcsService created the same name: same ARN, its owner tag.
    let mut namesake = mine.clone();
    namesake.tags = tags::ownership("uid-2", "team", "again", None);
    let p = plan(&d, &observed(namesake.clone()), &status);
    assert_eq!(p.step, Step::Nothing, "never updated to our spec");
    assert!(
        matches!(p.health, Health::Stalled { reason: "AlreadyExists", ref message } if message.contains("team/again"))
    );
    // Without an owner tag (removed by hand, or from before the operator tagged), the recorded
    // ARN still says it is ours.
    let mut untagged = mine;
    untagged.tags = vec![];
    let p = plan(&d, &observed(untagged), &status);
    assert_eq!(p.step, Step::Nothing);
    assert!(matches!(p.health, Health::Ready(_)), "{:?}", p.health);
}

#[test]
fn a_namesake_from_this_objects_earlier_life_names_the_same_owner_adoption() {
    let d = desired(json!({}));
    let mut earlier = settled_service(&d);
    earlier.tags = tags::ownership("uid-0", "default", "web", None);
    let p = plan(&d, &observed(earlier), &EcsServiceStatus::default());
    assert_eq!(p.step, Step::Nothing);
    assert!(
        matches!(&p.health, Health::Stalled { reason: "AlreadyExists", message } if message.contains("same-owner")),
        "{:?}",
        p.health
    );
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
    d.target = Some(TaskDefinitionTarget::FamilyRevision {
        family: "web".into(),
        revision: 1,
    });
    let mut service = settled_service(&d);
    service.task_definition = TD1.into();
    service.deployments[0].task_definition = TD1.into();
    let status = settled_status(&d, &service);
    assert_eq!(plan(&d, &observed(service), &status).step, Step::Nothing);
}

/// The status once AWS accepted the plan's writes.
fn accepted(p: &Plan) -> EcsServiceStatus {
    let mut status = p.status.clone();
    if let Some(record) = p.record.clone() {
        record.record(&mut status, &mut Vec::new());
    }
    status
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
    assert_eq!(
        accepted(&p).desired_task_definition_arn.as_deref(),
        Some(TD2)
    );
    assert_ne!(
        p.status.desired_task_definition_arn.as_deref(),
        Some(TD2),
        "recorded as sent only once UpdateService succeeded"
    );
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
    assert_eq!(
        p.status.applied_force_new_deployment, None,
        "a failed UpdateService leaves the token unapplied"
    );
    assert_eq!(
        update(&plan(&d, &observed(service.clone()), &p.status)).force_new_deployment,
        Some(true),
        "so the next pass sends it again"
    );
    let done = accepted(&p);
    assert_eq!(done.applied_force_new_deployment.as_deref(), Some("1"));
    assert_eq!(plan(&d, &observed(service), &done).step, Step::Nothing);
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
                ..Default::default()
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
    let d =
        desired(json!({"serviceConnectConfiguration": {"enabled": true, "namespace": "internal"}}));
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
    let changed =
        desired(json!({"serviceConnectConfiguration": {"enabled": true, "namespace": "other"}}));
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
    let fresh = ecs_events(&service, Some("e1"));
    assert_eq!(
        fresh.len(),
        2,
        "the steady state is the Ready condition's news: {fresh:?}"
    );
    assert!(!fresh[0].warning && fresh[0].message.contains("started 2 tasks"));
    assert!(fresh[1].warning && fresh[1].message.contains("unable to place"));
    assert_eq!(
        ecs_events(&service, Some("e3")).len(),
        0,
        "only a steady state since"
    );
    service.events.remove(0);
    assert_eq!(
        ecs_events(&service, None).len(),
        1,
        "first look: only the newest"
    );
    assert!(ecs_events(&service, Some("e3")).is_empty());
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
        ..Default::default()
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
fn a_rolling_update_sends_only_the_rolling_members() {
    let before = desired(json!({}));
    let service = settled_service(&before);
    let status = settled_status(&before, &service);
    let after = desired(json!({"deploymentConfiguration": {"maximumPercent": 150}}));
    let p = plan(&after, &observed(service.clone()), &status);
    let sent = serde_json::to_value(update(&p).deployment_configuration.as_ref()).expect("json");
    assert_eq!(sent["maximumPercent"], json!(150));
    assert_eq!(sent["strategy"], json!("ROLLING"));
    for member in [
        "bakeTimeInMinutes",
        "lifecycleHooks",
        "linearConfiguration",
        "canaryConfiguration",
    ] {
        assert!(sent.get(member).is_none(), "{member} sent: {sent}");
    }
    // A BLUE_GREEN one keeps its bake time.
    let blue_green = desired(
        json!({"deploymentConfiguration": {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5}}),
    );
    let p = plan(&blue_green, &observed(service), &status);
    let sent = serde_json::to_value(update(&p).deployment_configuration.as_ref()).expect("json");
    assert_eq!(sent["bakeTimeInMinutes"], json!(5));
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
    let d =
        desired(json!({"serviceConnectConfiguration": {"enabled": true, "namespace": "internal"}}));
    let mut service = settled_service(&d);
    service.tags = vec![];
    service.settings.service_connect_configuration =
        Some(crate::api::service::ServiceConnectConfiguration {
            enabled: true,
            namespace: Some("arn:aws:servicediscovery:us-east-1:1:namespace/ns-1".into()),
            ..Default::default()
        });
    let mut adopting = d.clone();
    adopting.adopt = crate::translate::tags::Adoption::Any;
    let p = plan(&adopting, &observed(service), &EcsServiceStatus::default());
    assert_eq!(
        p.step,
        Step::Nothing,
        "no deployment for a namespace reported as an ARN"
    );
}

#[test]
fn a_service_another_live_object_owns_is_not_adopted() {
    let mut adopting = desired(json!({}));
    adopting.adopt = crate::translate::tags::Adoption::Any;
    let mut service = settled_service(&adopting);
    service.tags = vec![crate::api::common::Tag {
        key: tags::OWNER_UID.into(),
        value: Some("someone-else".into()),
    }];
    let mut seen = observed(service);
    seen.other_owner = Some("team-a/web".into());
    let p = plan(&adopting, &seen, &EcsServiceStatus::default());
    assert!(
        matches!(p.step, Step::Blocked { reason: "OwnedByAnother", ref message } if message.contains("team-a/web")),
        "{:?}",
        p.step
    );
    assert!(p.retag.is_none() && p.record.is_none());
    // Its owner gone, the same service is adopted.
    seen.other_owner = None;
    let p = plan(&adopting, &seen, &EcsServiceStatus::default());
    assert!(p.record.is_some_and(|r| r.adopted_arn.is_some()));
}

/// `same-owner` adoption (a new Kubernetes cluster, a restored backup) takes over a service
/// whose owner tag names the same namespace/name under another UID, and nothing else.
#[test]
fn same_owner_adoption_takes_only_what_the_same_namespace_and_name_created() {
    use crate::translate::tags::Adoption;
    let mut migrating = desired(json!({}));
    migrating.adopt = Adoption::SameOwner("default/web".into());
    let mut service = settled_service(&migrating);
    service.tags = tags::ownership("uid-in-the-old-cluster", "default", "web", None);
    let p = plan(
        &migrating,
        &observed(service.clone()),
        &EcsServiceStatus::default(),
    );
    assert!(
        p.record.is_some_and(|r| r.adopted_arn.is_some()),
        "{:?}",
        p.step
    );
    assert_eq!(p.step, Step::Nothing, "taken over as it runs");

    for foreign in [
        tags::ownership("uid-x", "default", "other", None),
        tags::ownership("uid-x", "team-b", "web", None),
        Vec::new(),
    ] {
        service.tags = foreign.clone();
        let p = plan(
            &migrating,
            &observed(service.clone()),
            &EcsServiceStatus::default(),
        );
        assert!(
            matches!(
                p.step,
                Step::Blocked {
                    reason: "AlreadyExists",
                    ..
                }
            ) || matches!(
                p.health,
                Health::Stalled {
                    reason: "AlreadyExists",
                    ..
                }
            ),
            "{foreign:?}: {:?}",
            p.step
        );
        assert!(p.record.is_none(), "{foreign:?}");
    }
}

/// Creation, EXTERNAL services, deployment controllers and removed members.
mod creation_and_members;

/// Rollbacks: how they are told, and that a rolled-back revision is not sent again.
mod rollbacks;

/// The pipeline side: writes, commits and the cleanup plan.
mod writes_and_cleanup;
