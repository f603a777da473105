use std::time::Duration;

use super::*;
use crate::api::EcsClusterSpec;
use crate::api::cluster::{ClusterSettings, ContainerInsights};
use crate::translate::cluster as tr;

const TIMING: Timing = Timing {
    poll: Duration::from_secs(5),
    resync: Duration::from_secs(600),
};

fn item(provider: &str, weight: i32, base: Option<i32>) -> CapacityProviderStrategyItem {
    CapacityProviderStrategyItem {
        capacity_provider: provider.into(),
        weight: Some(weight),
        base,
    }
}

fn spec() -> EcsClusterSpec {
    EcsClusterSpec {
        settings: Some(ClusterSettings {
            container_insights: Some(ContainerInsights::Enhanced),
        }),
        capacity_providers: Some(vec!["FARGATE".into(), "FARGATE_SPOT".into()]),
        default_capacity_provider_strategy: Some(vec![
            item("FARGATE", 1, Some(2)),
            item("FARGATE_SPOT", 4, None),
        ]),
        tags: Some(vec![Tag {
            key: "team".into(),
            value: Some("a".into()),
        }]),
        ..Default::default()
    }
}

fn desired(spec: &EcsClusterSpec) -> Desired {
    let owner_tags = tags::ownership("uid-1", "ns", "prod", None);
    let settings = tr::settings(spec);
    Desired {
        name: "prod".into(),
        create: tr::create_request("prod", spec, &owner_tags),
        update: UpdateClusterRequest {
            cluster: "prod".into(),
            settings: (!settings.is_empty()).then_some(settings),
            configuration: spec.configuration.clone(),
            service_connect_defaults: spec.service_connect_defaults.clone(),
        },
        capacity: Some(PutClusterCapacityProvidersRequest {
            cluster: "prod".into(),
            capacity_providers: spec.capacity_providers.clone().unwrap_or_default(),
            default_capacity_provider_strategy: spec
                .default_capacity_provider_strategy
                .clone()
                .unwrap_or_default(),
        }),
        container_insights: Some("enhanced".into()),
        groups: tr::group_hashes(spec),
        tags: spec.tags.clone().unwrap_or_default(),
        owner_tags,
        uid: "uid-1".into(),
        adopt: crate::translate::tags::Adoption::Never,
    }
}

/// The cluster as ECS reports it once it matches `spec`.
fn matching(desired: &Desired) -> ClusterObservation {
    let mut tags = desired.tags.clone();
    tags.extend(desired.owner_tags.clone());
    ClusterObservation {
        arn: "arn:aws:ecs:us-east-1:1:cluster/prod".into(),
        name: "prod".into(),
        status: "ACTIVE".into(),
        container_insights: Some("enhanced".into()),
        capacity_providers: vec!["FARGATE_SPOT".into(), "FARGATE".into()],
        default_strategy: vec![
            item("FARGATE_SPOT", 4, Some(0)),
            item("FARGATE", 1, Some(2)),
        ],
        tags,
        ..Default::default()
    }
}

fn settled(desired: &Desired) -> EcsClusterStatus {
    EcsClusterStatus {
        applied: desired.groups.clone(),
        ..Default::default()
    }
}

fn found(cluster: ClusterObservation) -> Observed {
    Observed {
        cluster: Some(cluster),
        other_owner: None,
        held: BTreeSet::new(),
    }
}

#[test]
fn a_missing_cluster_is_created_in_one_call_and_every_group_recorded_only_on_success() {
    let d = desired(&spec());
    let p = plan(
        &d,
        &Observed::default(),
        &EcsClusterStatus::default(),
        TIMING,
    );
    assert_eq!(p.steps.len(), 1);
    assert!(
        p.status.applied.is_empty(),
        "nothing applied before AWS answers"
    );
    let Step::Create { request, .. } = &p.steps[0] else {
        panic!("{:?}", p.steps)
    };
    assert!(tags::is_owned_by(
        request.tags.as_deref().unwrap_or_default(),
        "uid-1"
    ));
    let mut status = p.status.clone();
    let mut notes = Vec::new();
    commit(
        p.steps[0].clone(),
        Answer::Cluster(Box::new(matching(&d))),
        &mut status,
        &mut notes,
    );
    assert_eq!(status.applied, d.groups);
    assert_eq!(status.status.as_deref(), Some("ACTIVE"));
}

#[test]
fn a_matching_cluster_needs_no_write_whatever_the_order_ecs_lists_providers_in() {
    let d = desired(&spec());
    let p = plan(&d, &found(matching(&d)), &settled(&d), TIMING);
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    assert!(matches!(p.outcome, Ok(Progress::Ready { .. })));
    assert_eq!(
        p.status.cluster_arn.as_deref(),
        Some("arn:aws:ecs:us-east-1:1:cluster/prod")
    );
}

#[test]
fn a_changed_strategy_sends_both_lists_whole_and_nothing_else() {
    let d = desired(&spec());
    let mut changed = spec();
    changed.default_capacity_provider_strategy = Some(vec![item("FARGATE", 1, None)]);
    let d2 = desired(&changed);
    let p = plan(&d2, &found(matching(&d)), &settled(&d), TIMING);
    assert_eq!(p.steps.len(), 1, "{:?}", p.steps);
    let Step::PutCapacityProviders { request, .. } = &p.steps[0] else {
        panic!("{:?}", p.steps)
    };
    assert_eq!(request.capacity_providers, ["FARGATE", "FARGATE_SPOT"]);
    assert_eq!(request.default_capacity_provider_strategy.len(), 1);
}

#[test]
fn drift_made_outside_is_reverted_and_a_setting_change_is_one_update() {
    let d = desired(&spec());
    let mut drifted = matching(&d);
    drifted.container_insights = Some("disabled".into());
    drifted.capacity_providers = vec!["FARGATE".into()];
    let p = plan(&d, &found(drifted), &settled(&d), TIMING);
    let kinds: Vec<&str> = p
        .steps
        .iter()
        .map(|s| match s {
            Step::Update { request, .. } => {
                assert!(request.settings.is_some() && request.configuration.is_none());
                "update"
            }
            Step::PutCapacityProviders { .. } => "providers",
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(kinds, ["update", "providers"]);
}

#[test]
fn a_failed_update_keeps_the_old_applied_hash_so_the_next_pass_sends_it_again() {
    let d = desired(&spec());
    let mut changed = spec();
    changed.settings = Some(ClusterSettings {
        container_insights: Some(ContainerInsights::Disabled),
    });
    let d2 = desired(&changed);
    let p = plan(&d2, &found(matching(&d)), &settled(&d), TIMING);
    assert_eq!(p.steps.len(), 1);
    // The runner commits nothing of a failed step: the status stays the plan's.
    assert_eq!(p.status.applied.get("settings"), d.groups.get("settings"));
    let again = plan(&d2, &found(matching(&d)), &p.status, TIMING);
    assert_eq!(again.steps, p.steps);
}

#[test]
fn tags_are_changed_in_place_and_the_operator_keys_kept() {
    let d = desired(&spec());
    let mut observed = matching(&d);
    observed.tags.retain(|t| t.key != "team");
    observed.tags.push(Tag {
        key: "old".into(),
        value: None,
    });
    let p = plan(&d, &found(observed), &settled(&d), TIMING);
    let [Step::Retag { change, .. }] = p.steps.as_slice() else {
        panic!("{:?}", p.steps)
    };
    assert_eq!(change.set.len(), 1);
    assert_eq!(change.set[0].key, "team");
    assert_eq!(change.remove, ["old"]);
}

#[test]
fn a_cluster_this_object_did_not_create_is_refused_unless_adopted() {
    let d = desired(&spec());
    let mut foreign = matching(&d);
    foreign.tags.retain(|t| !tags::is_operator_key(&t.key));
    let p = plan(
        &d,
        &found(foreign.clone()),
        &EcsClusterStatus::default(),
        TIMING,
    );
    assert!(p.steps.is_empty());
    match p.outcome {
        Err(ReconcileError::Blocked { reason, message }) => {
            assert_eq!(reason, "AlreadyExists");
            assert!(message.contains(ADOPT_ANNOTATION), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let mut adopting = d.clone();
    adopting.adopt = crate::translate::tags::Adoption::Any;
    let p = plan(
        &adopting,
        &found(foreign.clone()),
        &EcsClusterStatus::default(),
        TIMING,
    );
    assert!(p.steps.iter().any(
        |s| matches!(s, Step::Retag { change, .. } if tags::is_owned_by(&change.set, "uid-1"))
    ));
    let owned = Observed {
        cluster: Some(foreign),
        other_owner: Some("ns/other".into()),
        held: BTreeSet::new(),
    };
    let p = plan(&adopting, &owned, &EcsClusterStatus::default(), TIMING);
    assert!(p.steps.is_empty(), "another live owner is never overridden");
}

#[test]
fn taking_over_a_cluster_that_holds_the_spec_writes_only_the_owner_tags() {
    let mut with_configuration = spec();
    with_configuration.configuration = Some(
        serde_json::from_value(serde_json::json!({
            "executeCommandConfiguration": {"logging": "DEFAULT"}
        }))
        .expect("configuration"),
    );
    let mut d = desired(&with_configuration);
    d.adopt = crate::translate::tags::Adoption::Any;
    let mut foreign = matching(&d);
    foreign.tags.retain(|t| !tags::is_operator_key(&t.key));
    // As DescribeClusters writes it: more than the spec sets, in its own order.
    let described = serde_json::json!({
        "clusterName": "prod",
        "settings": [{"name": "containerInsights", "value": "enhanced"}],
        "configuration": {"executeCommandConfiguration": {"logging": "DEFAULT", "kmsKeyId": null}},
    });
    let held = held_groups(&d, &described, &foreign);
    assert_eq!(
        held.iter().map(String::as_str).collect::<Vec<_>>(),
        ["capacityProviders", "configuration", "settings"]
    );
    let observed = Observed {
        cluster: Some(foreign.clone()),
        other_owner: None,
        held,
    };
    let p = plan(&d, &observed, &EcsClusterStatus::default(), TIMING);
    assert!(
        p.steps.iter().all(|s| matches!(s, Step::Retag { .. })),
        "{:?}",
        p.steps
    );
    assert_eq!(
        p.status.applied, d.groups,
        "held groups are recorded as applied"
    );

    // What the cluster does not hold is still written.
    let mut other = described.clone();
    other["settings"][0]["value"] = serde_json::json!("disabled");
    other["configuration"]["executeCommandConfiguration"]["logging"] = serde_json::json!("NONE");
    foreign.capacity_providers.pop();
    let held = held_groups(&d, &other, &foreign);
    assert!(held.is_empty(), "{held:?}");
}

#[test]
fn a_provisioning_cluster_is_not_ready_yet() {
    let status = EcsClusterStatus {
        status: Some("PROVISIONING".into()),
        ..Default::default()
    };
    let outcome = finish(
        Progress::Ready {
            reason: "ClusterActive".into(),
            message: String::new(),
        },
        &status,
        TIMING,
    );
    assert!(matches!(outcome, Progress::Progressing { requeue, .. } if requeue == TIMING.poll));
}

#[test]
fn deletion_waits_for_services_and_tasks_naming_them_and_their_owners() {
    let d = desired(&spec());
    let observed = CleanupObserved {
        cluster: Some(matching(&d)),
        services: vec![
            ("web".into(), Some("ns/web".into())),
            ("legacy".into(), None),
        ],
        tasks: vec![("abc123".into(), Some("ecs-operator/uid-9".into()))],
        providers: vec![("managed-pool".into(), Some("ns/managed-pool".into()))],
    };
    let p = cleanup_plan(Some(&observed), &EcsClusterStatus::default(), TIMING);
    assert!(p.steps.is_empty());
    match p.outcome {
        Ok(Cleanup::Stalled {
            reason, message, ..
        }) => {
            assert_eq!(reason, "ClusterInUse");
            for part in [
                "web (EcsService ns/web)",
                "legacy",
                "abc123",
                "managed-pool (EcsCapacityProvider ns/managed-pool)",
                "deletionPolicy: Retain",
            ] {
                assert!(message.contains(part), "{part}: {message}");
            }
        }
        other => panic!("{other:?}"),
    }
    let mut with_instances = matching(&d);
    with_instances.registered_container_instances = 2;
    let held = CleanupObserved {
        cluster: Some(with_instances),
        ..Default::default()
    };
    let p = cleanup_plan(Some(&held), &EcsClusterStatus::default(), TIMING);
    assert!(
        matches!(&p.outcome, Ok(Cleanup::Stalled { message, .. }) if message.contains("2 registered container instance(s)")),
        "{:?}",
        p.outcome
    );
    let empty = CleanupObserved {
        cluster: Some(matching(&d)),
        ..Default::default()
    };
    let p = cleanup_plan(Some(&empty), &EcsClusterStatus::default(), TIMING);
    assert_eq!(
        p.steps,
        [Step::Delete {
            name: "prod".into()
        }]
    );
    let gone = cleanup_plan(
        Some(&CleanupObserved::default()),
        &EcsClusterStatus::default(),
        TIMING,
    );
    assert!(gone.steps.is_empty() && matches!(gone.outcome, Ok(Cleanup::Done)));
    let retained = cleanup_plan(None, &EcsClusterStatus::default(), TIMING);
    assert!(retained.steps.is_empty() && matches!(retained.outcome, Ok(Cleanup::Done)));
}
