//! EcsTaskDefinition controller: one new revision per change of content, tags changed in place,
//! adoption of revisions a crash left unrecorded, drift repair, history, deletion policy.
//! Observe (AWS reads) -> [`plan`] (pure) -> apply (AWS writes); the runner does the rest.

pub mod plan;

use std::collections::BTreeMap;

use kube::ResourceExt;
use sha2::{Digest, Sha256};

use self::plan::{Current, CurrentState, Desired, Observed, OwnedRevision, Plan};
use super::Context;
use super::error::ReconcileError;
use super::runner::{Cleanup, Managed, Pass, Progress, Reconciler};
use crate::api::task_definition::{EcsTaskDefinitionStatus, RegisteredRevision};
use crate::api::{DeletionPolicy, EcsTaskDefinition, ReconcileStatus};
use crate::aws::AwsErrorKind;
use crate::aws::snapshot::Lookup;
use crate::translate::{tags, task_definition};

/// Finalizer that keeps an object until its revisions are dealt with.
pub const FINALIZER: &str = "ecs.operator.dev/task-definition";

/// How many of the newest unrecorded revisions of a family are read (one DescribeTaskDefinition
/// each) when looking for ones this object registered but never recorded.
pub const ADOPTION_SCAN_LIMIT: usize = 20;

impl Managed for EcsTaskDefinition {
    type Status = EcsTaskDefinitionStatus;
    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }
    fn reconcile_status(status: &mut Self::Status) -> &mut ReconcileStatus {
        &mut status.reconcile
    }
}

/// The EcsTaskDefinition controller.
#[derive(Clone, Copy, Debug, Default)]
pub struct TaskDefinitions;

impl Reconciler for TaskDefinitions {
    type Object = EcsTaskDefinition;
    const KIND: &'static str = "task_definition";
    const FINALIZER: &'static str = FINALIZER;

    async fn reconcile(
        &self,
        object: &EcsTaskDefinition,
        ctx: &Context,
        pass: &mut Pass<EcsTaskDefinitionStatus>,
    ) -> Result<Progress, ReconcileError> {
        let desired = desired(object)?;
        let observed = observe(object, ctx, &desired, &pass.status).await?;
        let plan = plan::plan(&desired, &observed, &pass.status);
        apply(object, ctx, &desired, plan, pass).await?;
        Ok(Progress::Ready {
            reason: "Registered".into(),
            message: format!(
                "revision {} of family {} is registered",
                pass.status.revision.unwrap_or_default(),
                desired.family
            ),
        })
    }

    async fn cleanup(
        &self,
        object: &EcsTaskDefinition,
        ctx: &Context,
        pass: &mut Pass<EcsTaskDefinitionStatus>,
    ) -> Result<Cleanup, ReconcileError> {
        if object.spec.deletion_policy == DeletionPolicy::Retain {
            pass.normal(
                "Retained",
                "deletionPolicy is Retain: the revisions stay registered",
            );
            return Ok(Cleanup::Done);
        }
        let family = pass.status.family.clone().unwrap_or_else(|| {
            task_definition::family(&object.name_any(), &object.spec).to_owned()
        });
        let unrecorded = scan_unrecorded(object, ctx, &family, &pass.status).await?;
        let arns = plan::revisions_to_delete(&pass.status, &unrecorded);
        for arn in &arns {
            deregister(ctx, arn).await?;
            pass.status.registered_revisions.retain(|r| &r.arn != arn);
        }
        pass.normal(
            "Deregistered",
            format!("deregistered {} revision(s) of family {family}", arns.len()),
        );
        Ok(Cleanup::Done)
    }
}

/// What the spec asks for; an invalid spec fails here, before any AWS call.
fn desired(object: &EcsTaskDefinition) -> Result<Desired, ReconcileError> {
    let request = task_definition::register_request(&object.name_any(), &object.spec)?;
    let tags = request.tags.clone().unwrap_or_default();
    let sorted: BTreeMap<&str, Option<&str>> = tags
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_deref()))
        .collect();
    let tags_hash = Sha256::digest(serde_json::to_vec(&sorted).unwrap_or_default())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Desired {
        hash: task_definition::content_hash(&request),
        family: request.family.clone().unwrap_or_else(|| object.name_any()),
        tags,
        tags_hash,
        history_limit: usize::try_from(object.spec.revision_history_limit.max(1)).unwrap_or(1),
        request,
    })
}

/// Reads what the plan needs and nothing more: the recorded current revision when it should hold
/// the desired content (its tags only when they may need changing), and the unrecorded revisions
/// of ours when something must be registered (so a crash never makes us register twice).
async fn observe(
    object: &EcsTaskDefinition,
    ctx: &Context,
    desired: &Desired,
    status: &EcsTaskDefinitionStatus,
) -> Result<Observed, ReconcileError> {
    let mut observed = Observed::default();
    if plan::recorded_matches(desired, status)
        && let Some(arn) = &status.task_definition_arn
    {
        let tags_stale = plan::tags_stale(desired, status);
        // A settled revision is checked against the account's shared listing of ACTIVE
        // revisions; only a revision missing from it (or tags to compare) costs a describe.
        let listed = if tags_stale {
            Lookup::Unknown
        } else {
            ctx.aws
                .ecs
                .revision_listed(arn, ctx.listing_window())
                .await?
        };
        observed.current = Some(match listed {
            Lookup::Found(()) => CurrentState::Active { tags: None },
            Lookup::Absent | Lookup::Unknown => {
                match ctx.aws.ecs.describe_task_definition(arn).await? {
                    Some((revision, found)) if revision.status == "ACTIVE" => {
                        CurrentState::Active {
                            tags: tags_stale.then_some(found),
                        }
                    }
                    _ => CurrentState::Gone,
                }
            }
        });
    }
    if !matches!(observed.current, Some(CurrentState::Active { .. })) {
        observed.unrecorded = scan_unrecorded(object, ctx, &desired.family, status).await?;
    }
    Ok(observed)
}

/// Revisions of `family` newer than every recorded one that carry this object's UID, newest first
/// (at most the [`ADOPTION_SCAN_LIMIT`] newest are read).
async fn scan_unrecorded(
    object: &EcsTaskDefinition,
    ctx: &Context,
    family: &str,
    status: &EcsTaskDefinitionStatus,
) -> Result<Vec<OwnedRevision>, ReconcileError> {
    let uid = object.uid().unwrap_or_default();
    let known_max = status
        .registered_revisions
        .iter()
        .map(|r| r.revision)
        .chain(status.revision)
        .max()
        .unwrap_or(0);
    let arns = ctx
        .aws
        .ecs
        .active_revisions_above(family, known_max, ADOPTION_SCAN_LIMIT)
        .await?;
    let mut found = Vec::new();
    for arn in arns {
        if let Some((revision, revision_tags)) = ctx.aws.ecs.describe_task_definition(&arn).await?
            && tags::is_owned_by(&revision_tags, &uid)
            && revision.status == "ACTIVE"
        {
            found.push(OwnedRevision {
                arn: revision.arn,
                revision: revision.revision,
                content_hash: tags::value(&revision_tags, tags::CONTENT_HASH).map(str::to_owned),
                tags: revision_tags,
            });
        }
    }
    Ok(found)
}

/// Carries out the plan, recording each step in the pass's status as it succeeds.
async fn apply(
    object: &EcsTaskDefinition,
    ctx: &Context,
    desired: &Desired,
    plan: Plan,
    pass: &mut Pass<EcsTaskDefinitionStatus>,
) -> Result<(), ReconcileError> {
    let status = &mut pass.status;
    status
        .registered_revisions
        .retain(|r| !plan.forget.contains(&r.arn));
    status
        .registered_revisions
        .extend(plan.track.iter().cloned());

    let (arn, revision, tags_applied) = match plan.current {
        Current::Keep { arn, revision } => (arn, revision, plan.retag.is_none()),
        Current::Adopt(adopted) => {
            pass.normal(
                "Adopted",
                format!(
                    "adopted revision {} registered earlier for this content",
                    adopted.revision
                ),
            );
            (adopted.arn, adopted.revision, plan.retag.is_none())
        }
        Current::Register { drifted } => {
            let owner = tags::ownership(
                &object.uid().unwrap_or_default(),
                &object.namespace().unwrap_or_default(),
                &object.name_any(),
                Some(&desired.hash),
            );
            let registered = ctx
                .aws
                .ecs
                .register_task_definition(&desired.request, &owner)
                .await?;
            match drifted {
                Some(old) => pass.warning(
                    "Drift",
                    format!(
                        "{old} was deregistered outside the operator; registered the same content again as revision {}",
                        registered.revision
                    ),
                ),
                None => pass.normal(
                    "Registered",
                    format!(
                        "registered revision {} ({})",
                        registered.revision, registered.arn
                    ),
                ),
            }
            (registered.arn, registered.revision, true)
        }
    };
    let status = &mut pass.status;
    status.task_definition_arn = Some(arn.clone());
    status.family = Some(desired.family.clone());
    status.revision = Some(revision);
    status.content_hash = Some(desired.hash.clone());
    status.registered_revisions.retain(|r| r.arn != arn);
    status.registered_revisions.push(RegisteredRevision {
        arn: arn.clone(),
        revision,
        content_hash: desired.hash.clone(),
    });
    status
        .registered_revisions
        .sort_by_key(|r| std::cmp::Reverse(r.revision));
    if tags_applied {
        status.tags_hash = Some(desired.tags_hash.clone());
    }

    if let Some(change) = &plan.retag {
        // Removals first: near the 50-tag limit, a rename must free its slot before it is used.
        if !change.remove.is_empty() {
            ctx.aws.ecs.untag_resource(&arn, &change.remove).await?;
        }
        if !change.set.is_empty() {
            ctx.aws.ecs.tag_resource(&arn, &change.set).await?;
        }
        pass.status.tags_hash = Some(desired.tags_hash.clone());
        pass.normal(
            "Tagged",
            format!(
                "tags of revision {revision}: {} set, {} removed",
                change.set.len(),
                change.remove.len()
            ),
        );
    }

    for expired in &plan.expire {
        deregister(ctx, &expired.arn).await?;
        pass.status
            .registered_revisions
            .retain(|r| r.arn != expired.arn);
        pass.normal(
            "Deregistered",
            format!(
                "deregistered revision {} (history limit {})",
                expired.revision, desired.history_limit
            ),
        );
    }
    Ok(())
}

/// Deregisters a revision; one already deregistered (or unknown) is done, not a failure.
async fn deregister(ctx: &Context, arn: &str) -> Result<(), ReconcileError> {
    match ctx.aws.ecs.deregister_task_definition(arn).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind == AwsErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}
