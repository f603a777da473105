//! The EcsCluster plan (pure): what to create, update, retag or delete, from the spec, what
//! DescribeClusters reported and the status; and what each accepted write puts in status.

use std::collections::{BTreeMap, BTreeSet};

use crate::api::ADOPT_ANNOTATION;
use crate::api::cluster::EcsClusterStatus;
use crate::api::common::Tag;
use crate::api::service::CapacityProviderStrategyItem;
use crate::aws::types::ClusterObservation;
use crate::controller::error::ReconcileError;
use crate::controller::pipeline::{Cleanup, Note, Plan, Progress, Timing};
use crate::translate::cluster::{
    CreateClusterRequest, PutClusterCapacityProvidersRequest, UpdateClusterRequest,
};
use crate::translate::tags::{self, TagChange};

/// The member groups one UpdateCluster carries.
const UPDATE_GROUPS: [&str; 3] = ["settings", "configuration", "serviceConnectDefaults"];
/// The member group PutClusterCapacityProviders carries.
const CAPACITY_GROUP: &str = "capacityProviders";

/// What the spec asks for, resolved.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Desired {
    /// The ECS cluster name.
    pub name: String,
    /// The CreateCluster request (with the ownership tags).
    pub create: CreateClusterRequest,
    /// UpdateCluster with every group the spec sets (the plan keeps the ones to send).
    pub update: UpdateClusterRequest,
    /// PutClusterCapacityProviders, when the spec manages the providers.
    pub capacity: Option<PutClusterCapacityProvidersRequest>,
    /// The `containerInsights` value the spec sets.
    pub container_insights: Option<String>,
    /// The hash of each group the spec sets.
    pub groups: BTreeMap<String, String>,
    /// The user's tags.
    pub tags: Vec<Tag>,
    /// The operator's ownership tags for this object.
    pub owner_tags: Vec<Tag>,
    /// The object's UID.
    pub uid: String,
    /// Whether the object may take over a cluster it did not create.
    pub adopt: crate::translate::tags::Adoption,
}

/// What observation found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// The cluster, unless ECS has none of that name (or only an INACTIVE one).
    pub cluster: Option<ClusterObservation>,
    /// `namespace/name` of another live object whose tags claim the cluster.
    pub other_owner: Option<String>,
    /// Groups of the spec the cluster already holds exactly (read only while taking over a
    /// cluster the operator did not create): recorded as applied without a write.
    pub held: BTreeSet<String>,
}

/// The update groups of `desired` that a cluster, as `DescribeClusters` wrote it (with settings
/// and configurations), already holds, and the capacity group when its providers and strategy
/// match. Taking over such a cluster then writes nothing for them.
pub fn held_groups(
    desired: &Desired,
    described: &serde_json::Value,
    cluster: &ClusterObservation,
) -> BTreeSet<String> {
    use crate::translate::described::holds;
    let mut held = BTreeSet::new();
    let settings_hold = desired.update.settings.iter().flatten().all(|wanted| {
        described["settings"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["name"] == wanted.name.as_str() && s["value"] == wanted.value.as_str())
    });
    let groups: [(&str, bool); 3] = [
        ("settings", settings_hold),
        (
            "configuration",
            holds(
                &serde_json::to_value(&desired.update.configuration).unwrap_or_default(),
                &described["configuration"],
            ),
        ),
        (
            "serviceConnectDefaults",
            holds(
                &serde_json::to_value(&desired.update.service_connect_defaults).unwrap_or_default(),
                &described["serviceConnectDefaults"],
            ),
        ),
    ];
    for (group, holds) in groups {
        if holds && desired.groups.contains_key(group) {
            held.insert(group.to_owned());
        }
    }
    if let Some(request) = &desired.capacity
        && !capacity_drifted(request, cluster)
    {
        held.insert(CAPACITY_GROUP.to_owned());
    }
    held
}

/// What deletion found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CleanupObserved {
    /// The cluster, when it exists, is this object's and must be deleted.
    pub cluster: Option<ClusterObservation>,
    /// The services left in it: their names, each with the EcsService that owns it, if any.
    pub services: Vec<(String, Option<String>)>,
    /// The tasks left running in it: their ids, each with its `startedBy` (an EcsTask's is its
    /// UID, a service's its deployment id).
    pub tasks: Vec<(String, Option<String>)>,
    /// The Managed Instances capacity providers that belong to it ("You must first delete all
    /// capacity providers from the cluster"), each with the EcsCapacityProvider that owns it.
    pub providers: Vec<(String, Option<String>)>,
}

/// One AWS write.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// CreateCluster, recording every group as applied.
    Create {
        /// The request.
        request: Box<CreateClusterRequest>,
        /// The groups it applies.
        groups: BTreeMap<String, String>,
    },
    /// UpdateCluster with the groups that changed or drifted.
    Update {
        /// The request.
        request: UpdateClusterRequest,
        /// The groups it applies, with their hashes.
        groups: BTreeMap<String, String>,
    },
    /// PutClusterCapacityProviders with both lists whole.
    PutCapacityProviders {
        /// The request.
        request: PutClusterCapacityProvidersRequest,
        /// The group's hash.
        hash: String,
    },
    /// TagResource / UntagResource on the cluster.
    Retag {
        /// The cluster ARN.
        arn: String,
        /// The change.
        change: TagChange,
    },
    /// DeleteCluster.
    Delete {
        /// The cluster name.
        name: String,
    },
}

/// What AWS answered to a step.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// The cluster as the write left it.
    Cluster(Box<ClusterObservation>),
    /// Accepted, nothing to record.
    Done,
}

/// The reconcile plan.
pub type ClusterPlan = Plan<EcsClusterStatus, Step, Progress>;

/// Whether a strategy item equals another, ECS's defaults (weight 0, base 0) filled in.
fn same_item(a: &CapacityProviderStrategyItem, b: &CapacityProviderStrategyItem) -> bool {
    a.capacity_provider == b.capacity_provider
        && a.weight.unwrap_or(0) == b.weight.unwrap_or(0)
        && a.base.unwrap_or(0) == b.base.unwrap_or(0)
}

/// Whether the cluster's providers and default strategy differ from the request's.
pub fn capacity_drifted(
    request: &PutClusterCapacityProvidersRequest,
    cluster: &ClusterObservation,
) -> bool {
    let mut wanted = request.capacity_providers.clone();
    let mut found = cluster.capacity_providers.clone();
    wanted.sort();
    found.sort();
    let strategy = &request.default_capacity_provider_strategy;
    wanted != found
        || strategy.len() != cluster.default_strategy.len()
        || !strategy
            .iter()
            .all(|s| cluster.default_strategy.iter().any(|o| same_item(s, o)))
}

/// The status fields observation alone justifies.
fn observed_status(status: &EcsClusterStatus, cluster: &ClusterObservation) -> EcsClusterStatus {
    let mut next = status.clone();
    record(&mut next, cluster);
    next
}

fn record(status: &mut EcsClusterStatus, cluster: &ClusterObservation) {
    status.cluster_arn = Some(cluster.arn.clone());
    status.cluster_name = Some(cluster.name.clone());
    status.status = Some(cluster.status.clone());
    status.registered_container_instances_count = Some(cluster.registered_container_instances);
    status.running_tasks_count = Some(cluster.running_tasks);
    status.pending_tasks_count = Some(cluster.pending_tasks);
    status.active_services_count = Some(cluster.active_services);
    status.capacity_providers = cluster.capacity_providers.clone();
}

fn ready() -> Result<Progress, ReconcileError> {
    Ok(Progress::Ready {
        reason: "ClusterActive".into(),
        message: String::new(),
    })
}

/// The writes that make the cluster match the spec.
pub fn plan(
    desired: &Desired,
    observed: &Observed,
    status: &EcsClusterStatus,
    timing: Timing,
) -> ClusterPlan {
    let Some(cluster) = &observed.cluster else {
        let mut next = status.clone();
        next.applied.clear();
        return Plan::new(
            next,
            vec![Step::Create {
                request: Box::new(desired.create.clone()),
                groups: desired.groups.clone(),
            }],
            ready(),
        )
        .when_done(Note::normal(
            "Created",
            format!("created ECS cluster {}", desired.name),
        ));
    };
    let ours = tags::is_owned_by(&cluster.tags, &desired.uid);
    if !ours {
        if let Some(owner) = &observed.other_owner {
            return Plan::only(
                status.clone(),
                Err(ReconcileError::blocked(
                    "AlreadyExists",
                    format!(
                        "ECS cluster {} belongs to {owner}; give this object another spec.clusterName",
                        desired.name
                    ),
                )),
            );
        }
        if !desired
            .adopt
            .allows(tags::value(&cluster.tags, tags::OWNER))
        {
            return Plan::only(
                status.clone(),
                Err(ReconcileError::blocked(
                    "AlreadyExists",
                    format!(
                        "an ECS cluster named {} exists and this object did not create it: give this object another spec.clusterName, or annotate it with {ADOPT_ANNOTATION}: \"true\" to take it over",
                        desired.name
                    ),
                )),
            );
        }
    }
    let next = observed_status(status, cluster);
    if cluster.status == "FAILED" {
        return Plan::only(
            next,
            Ok(Progress::Stalled {
                reason: "ClusterFailed".into(),
                message: format!(
                    "ECS reports cluster {} as FAILED (its capacity provider attachments could not be made); see the cluster in the ECS console, fix the providers, or delete and recreate this object",
                    desired.name
                ),
                requeue: timing.resync,
            }),
        );
    }
    let mut next = next;
    for group in &observed.held {
        if let Some(hash) = desired.groups.get(group) {
            next.applied.insert(group.clone(), hash.clone());
        }
    }
    let mut steps = Vec::new();
    let stale = |group: &str| {
        desired
            .groups
            .get(group)
            .is_some_and(|hash| status.applied.get(group) != Some(hash))
            && !observed.held.contains(group)
    };
    let insights_drifted = desired.container_insights.is_some()
        && desired.container_insights != cluster.container_insights;
    let mut update = UpdateClusterRequest {
        cluster: desired.name.clone(),
        ..Default::default()
    };
    let mut groups = BTreeMap::new();
    for group in UPDATE_GROUPS {
        let send = stale(group) || (group == "settings" && insights_drifted);
        let Some(hash) = desired.groups.get(group).filter(|_| send) else {
            continue;
        };
        groups.insert(group.to_owned(), hash.clone());
        match group {
            "settings" => update.settings = desired.update.settings.clone(),
            "configuration" => update.configuration = desired.update.configuration.clone(),
            _ => update.service_connect_defaults = desired.update.service_connect_defaults.clone(),
        }
    }
    if !update.is_empty() {
        steps.push(Step::Update {
            request: update,
            groups,
        });
    }
    if let (Some(request), Some(hash)) = (&desired.capacity, desired.groups.get(CAPACITY_GROUP))
        && (stale(CAPACITY_GROUP) || capacity_drifted(request, cluster))
    {
        steps.push(Step::PutCapacityProviders {
            request: request.clone(),
            hash: hash.clone(),
        });
    }
    let change = tags::diff_with_owner(&desired.tags, &desired.owner_tags, &cluster.tags);
    if !change.is_empty() {
        steps.push(Step::Retag {
            arn: cluster.arn.clone(),
            change,
        });
    }
    let mut plan = Plan::new(next, steps, ready());
    if !ours {
        plan = plan.when_done(Note::normal(
            "Adopted",
            format!(
                "took over ECS cluster {} ({ADOPT_ANNOTATION})",
                desired.name
            ),
        ));
    }
    plan
}

/// Records a write AWS accepted.
pub fn commit(step: Step, answer: Answer, status: &mut EcsClusterStatus, notes: &mut Vec<Note>) {
    if let Answer::Cluster(cluster) = &answer {
        record(status, cluster);
    }
    match step {
        Step::Create { groups, .. } => status.applied = groups,
        Step::Update { groups, .. } => {
            notes.push(Note::normal(
                "Updated",
                format!(
                    "updated {}",
                    groups.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
            status.applied.extend(groups);
        }
        Step::PutCapacityProviders { request, hash } => {
            notes.push(Note::normal(
                "CapacityProvidersSet",
                format!(
                    "capacity providers [{}]; default strategy [{}]",
                    request.capacity_providers.join(", "),
                    request
                        .default_capacity_provider_strategy
                        .iter()
                        .map(|s| format!(
                            "{} weight {} base {}",
                            s.capacity_provider,
                            s.weight.unwrap_or(0),
                            s.base.unwrap_or(0)
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
            status.applied.insert(CAPACITY_GROUP.to_owned(), hash);
        }
        Step::Retag { .. } | Step::Delete { .. } => {}
    }
}

/// The outcome once every write succeeded: Ready only while ECS reports the cluster ACTIVE.
pub fn finish(outcome: Progress, status: &EcsClusterStatus, timing: Timing) -> Progress {
    match outcome {
        Progress::Ready { reason, .. } if status.status.as_deref() == Some("ACTIVE") => {
            Progress::Ready {
                reason,
                message: format!(
                    "cluster {} is ACTIVE",
                    status.cluster_name.as_deref().unwrap_or_default()
                ),
            }
        }
        Progress::Ready { .. } => Progress::Progressing {
            reason: "ClusterProvisioning".into(),
            message: format!(
                "ECS reports cluster {} as {}",
                status.cluster_name.as_deref().unwrap_or_default(),
                status.status.as_deref().unwrap_or("unknown")
            ),
            requeue: timing.poll,
        },
        other => other,
    }
}

/// The deletion plan: delete the cluster once nothing is left in it; else Stalled naming what
/// is, and the objects that own it.
pub fn cleanup_plan(
    observed: Option<&CleanupObserved>,
    status: &EcsClusterStatus,
    timing: Timing,
) -> Plan<EcsClusterStatus, Step, Cleanup> {
    let Some(CleanupObserved {
        cluster: Some(cluster),
        services,
        tasks,
        providers,
    }) = observed
    else {
        return Plan::only(status.clone(), Ok(Cleanup::Done));
    };
    let named = |items: &[(String, Option<String>)], kind: &str| {
        items
            .iter()
            .take(10)
            .map(|(name, owner)| match owner {
                Some(owner) => format!("{name} ({kind} {owner})"),
                None => name.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
            + if items.len() > 10 { ", ..." } else { "" }
    };
    let mut blockers = Vec::new();
    if !services.is_empty() {
        blockers.push(format!(
            "{} service(s): {}",
            services.len(),
            named(services, "EcsService")
        ));
    }
    if !providers.is_empty() {
        blockers.push(format!(
            "{} Managed Instances capacity provider(s): {}",
            providers.len(),
            named(providers, "EcsCapacityProvider")
        ));
    }
    if cluster.registered_container_instances > 0 {
        // "You must deregister all container instances from this cluster before you may
        // delete it."
        blockers.push(format!(
            "{} registered container instance(s) (deregister them, or scale their Auto Scaling group to 0)",
            cluster.registered_container_instances
        ));
    }
    if !tasks.is_empty() {
        blockers.push(format!(
            "{} running task(s): {}",
            tasks.len(),
            named(tasks, "started by")
        ));
    }
    if !blockers.is_empty() {
        return Plan::only(
            observed_status(status, cluster),
            Ok(Cleanup::Stalled {
                reason: "ClusterInUse".into(),
                message: format!(
                    "ECS cluster {} still holds {}: delete them first (the cluster is deleted once they are gone), or set spec.deletionPolicy: Retain to delete only this object",
                    cluster.name,
                    blockers.join("; ")
                ),
                requeue: timing.poll.saturating_mul(6),
            }),
        );
    }
    Plan::new(
        status.clone(),
        vec![Step::Delete {
            name: cluster.name.clone(),
        }],
        Ok(Cleanup::Done),
    )
    .when_done(Note::normal(
        "Deleted",
        format!("deleted ECS cluster {}", cluster.name),
    ))
}

#[cfg(test)]
mod tests;
