//! The EcsCapacityProvider plan (pure): create, update what ECS lets change, retag, refuse what
//! it does not, and delete once no cluster lists the provider.

use crate::api::ADOPT_ANNOTATION;
use crate::api::capacity_provider::EcsCapacityProviderStatus;
use crate::api::common::Tag;
use crate::aws::types::CapacityProviderObservation;
use crate::controller::error::ReconcileError;
use crate::controller::pipeline::{Cleanup, Note, Plan, Progress, Timing};
use crate::translate::capacity_provider::{
    CreateCapacityProviderRequest, UpdateCapacityProviderRequest,
};
use crate::translate::tags::{self, TagChange};

/// What the spec asks for, resolved.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Desired {
    /// The provider name.
    pub name: String,
    /// EC2_AUTOSCALING or MANAGED_INSTANCES.
    pub kind: &'static str,
    /// The Auto Scaling group as the spec names it.
    pub auto_scaling_group: Option<String>,
    /// CreateCapacityProvider (with the ownership tags).
    pub create: CreateCapacityProviderRequest,
    /// UpdateCapacityProvider with every updatable member.
    pub update: UpdateCapacityProviderRequest,
    /// Hash of the provider settings.
    pub hash: String,
    /// The user's tags.
    pub tags: Vec<Tag>,
    /// The operator's ownership tags.
    pub owner_tags: Vec<Tag>,
    /// The object's UID.
    pub uid: String,
    /// Whether the object may take over a provider it did not create.
    pub adopt: crate::translate::tags::Adoption,
}

/// What observation found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// The provider, unless ECS has none of that name (or only an INACTIVE one).
    pub provider: Option<CapacityProviderObservation>,
    /// `namespace/name` of another live object whose tags claim the provider.
    pub other_owner: Option<String>,
}

/// What deletion found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CleanupObserved {
    /// The provider, when it exists and is this object's.
    pub provider: Option<CapacityProviderObservation>,
    /// The clusters that list it among their capacity providers.
    pub clusters: Vec<String>,
}

/// One AWS write.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// CreateCapacityProvider.
    Create {
        /// The request.
        request: Box<CreateCapacityProviderRequest>,
        /// The settings hash it applies.
        hash: String,
    },
    /// UpdateCapacityProvider.
    Update {
        /// The request.
        request: Box<UpdateCapacityProviderRequest>,
        /// The settings hash it applies.
        hash: String,
    },
    /// TagResource / UntagResource.
    Retag {
        /// The provider ARN.
        arn: String,
        /// The change.
        change: TagChange,
    },
    /// DeleteCapacityProvider.
    Delete {
        /// The provider name.
        name: String,
        /// Its cluster (Managed Instances).
        cluster: Option<String>,
    },
}

/// What AWS answered.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// The provider as the write left it.
    Provider(Box<CapacityProviderObservation>),
    /// Accepted.
    Done,
}

/// The reconcile plan.
pub type ProviderPlan = Plan<EcsCapacityProviderStatus, Step, Progress>;

fn record(status: &mut EcsCapacityProviderStatus, provider: &CapacityProviderObservation) {
    status.capacity_provider_arn = Some(provider.arn.clone());
    status.kind = provider.kind.clone();
    status.status = Some(provider.status.clone());
    status.update_status = provider.update_status.clone();
    status.update_status_reason = provider.update_status_reason.clone();
    status.cluster = provider.cluster.clone();
}

fn blocked(status: &EcsCapacityProviderStatus, reason: &str, message: String) -> ProviderPlan {
    Plan::only(
        status.clone(),
        Err(ReconcileError::blocked(reason, message)),
    )
}

/// The writes that make the provider match the spec.
pub fn plan(
    desired: &Desired,
    observed: &Observed,
    status: &EcsCapacityProviderStatus,
    timing: Timing,
) -> ProviderPlan {
    let Some(provider) = &observed.provider else {
        let mut next = status.clone();
        next.applied_hash = None;
        return Plan::new(
            next,
            vec![Step::Create {
                request: Box::new(desired.create.clone()),
                hash: desired.hash.clone(),
            }],
            Ok(ready()),
        )
        .when_done(Note::normal(
            "Created",
            format!("created capacity provider {}", desired.name),
        ));
    };
    let ours = tags::is_owned_by(&provider.tags, &desired.uid);
    if !ours {
        if let Some(owner) = &observed.other_owner {
            return blocked(
                status,
                "AlreadyExists",
                format!(
                    "capacity provider {} belongs to {owner}; give this object another spec.name",
                    desired.name
                ),
            );
        }
        if !desired
            .adopt
            .allows(tags::value(&provider.tags, tags::OWNER))
        {
            return blocked(
                status,
                "AlreadyExists",
                format!(
                    "a capacity provider named {} exists and this object did not create it: give this object another spec.name, or annotate it with {ADOPT_ANNOTATION}: \"true\" to take it over",
                    desired.name
                ),
            );
        }
    }
    let mut next = status.clone();
    record(&mut next, provider);
    if provider.kind.as_deref().is_some_and(|k| k != desired.kind) {
        return blocked(
            &next,
            "ImmutableChange",
            format!(
                "capacity provider {} is {} and the spec asks for {}: the kind cannot change; create another capacity provider",
                desired.name,
                provider.kind.as_deref().unwrap_or_default(),
                desired.kind
            ),
        );
    }
    if let (Some(wanted), Some(found)) = (
        &desired.auto_scaling_group,
        &provider.auto_scaling_group_arn,
    ) && wanted.starts_with("arn:")
        && wanted != found
    {
        return blocked(
            &next,
            "ImmutableChange",
            format!(
                "spec.autoScalingGroupProvider.autoScalingGroupArn: capacity provider {} uses {found}; the group cannot change; create another capacity provider",
                desired.name
            ),
        );
    }
    let mut steps = Vec::new();
    if status.applied_hash.as_deref() != Some(desired.hash.as_str()) {
        steps.push(Step::Update {
            request: Box::new(desired.update.clone()),
            hash: desired.hash.clone(),
        });
    }
    let change = tags::diff_with_owner(&desired.tags, &desired.owner_tags, &provider.tags);
    if !change.is_empty() {
        steps.push(Step::Retag {
            arn: provider.arn.clone(),
            change,
        });
    }
    if steps.is_empty() && provider.update_status.as_deref() == Some("UPDATE_FAILED") {
        return Plan::only(
            next,
            Ok(Progress::Stalled {
                reason: "UpdateFailed".into(),
                message: format!(
                    "ECS could not apply the last update of capacity provider {}: {}",
                    desired.name,
                    provider
                        .update_status_reason
                        .as_deref()
                        .unwrap_or("no reason given")
                ),
                requeue: timing.resync,
            }),
        );
    }
    let mut plan = Plan::new(next, steps, Ok(ready()));
    if !ours {
        plan = plan.when_done(Note::normal(
            "Adopted",
            format!(
                "took over capacity provider {} ({ADOPT_ANNOTATION})",
                desired.name
            ),
        ));
    }
    plan
}

fn ready() -> Progress {
    Progress::Ready {
        reason: "CapacityProviderActive".into(),
        message: String::new(),
    }
}

/// Records a write AWS accepted.
pub fn commit(
    step: Step,
    answer: Answer,
    status: &mut EcsCapacityProviderStatus,
    notes: &mut Vec<Note>,
) {
    if let Answer::Provider(provider) = &answer {
        record(status, provider);
    }
    match step {
        Step::Create { hash, .. } => status.applied_hash = Some(hash),
        Step::Update { request, hash } => {
            notes.push(Note::normal(
                "Updated",
                format!("updated capacity provider {}", request.name),
            ));
            status.applied_hash = Some(hash);
        }
        Step::Retag { .. } | Step::Delete { .. } => {}
    }
}

/// Ready only while ECS reports the provider ACTIVE with no update in flight.
pub fn finish(outcome: Progress, status: &EcsCapacityProviderStatus, timing: Timing) -> Progress {
    let Progress::Ready { reason, .. } = outcome else {
        return outcome;
    };
    let updating = status
        .update_status
        .as_deref()
        .is_some_and(|u| u.ends_with("_IN_PROGRESS"));
    if status.status.as_deref() == Some("ACTIVE") && !updating {
        return Progress::Ready {
            reason,
            message: format!(
                "capacity provider is ACTIVE{}",
                status
                    .update_status
                    .as_deref()
                    .map(|u| format!(" ({u})"))
                    .unwrap_or_default()
            ),
        };
    }
    Progress::Progressing {
        reason: "CapacityProviderSettling".into(),
        message: format!(
            "ECS reports the capacity provider as {}{}",
            status.status.as_deref().unwrap_or("unknown"),
            status
                .update_status
                .as_deref()
                .map(|u| format!(", {u}"))
                .unwrap_or_default()
        ),
        requeue: timing.poll,
    }
}

/// Deletion: refused (Stalled, naming them) while clusters list the provider; else
/// DeleteCapacityProvider.
pub fn cleanup_plan(
    observed: Option<&CleanupObserved>,
    status: &EcsCapacityProviderStatus,
    timing: Timing,
) -> Plan<EcsCapacityProviderStatus, Step, Cleanup> {
    let Some(CleanupObserved {
        provider: Some(provider),
        clusters,
    }) = observed
    else {
        return Plan::only(status.clone(), Ok(Cleanup::Done));
    };
    if !clusters.is_empty() {
        return Plan::only(
            status.clone(),
            Ok(Cleanup::Stalled {
                reason: "CapacityProviderInUse".into(),
                message: format!(
                    "capacity provider {} is associated with cluster(s) {}: remove it from their capacity providers (the EcsCluster's spec.capacityProviders) first, or set spec.deletionPolicy: Retain to delete only this object",
                    provider.name,
                    clusters.join(", ")
                ),
                requeue: timing.poll.saturating_mul(6),
            }),
        );
    }
    Plan::new(
        status.clone(),
        vec![Step::Delete {
            name: provider.name.clone(),
            cluster: provider.cluster.clone(),
        }],
        Ok(Cleanup::Done),
    )
    .when_done(Note::normal(
        "Deleted",
        format!("deleted capacity provider {}", provider.name),
    ))
}

#[cfg(test)]
mod tests;
